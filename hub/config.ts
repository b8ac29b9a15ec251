/**
 * The hub's config file schema: one strict schema, defaults here, secrets from the environment.
 * Sections are owned by the module that uses them; each is validated once at start and passed down frozen.
 */
import { z } from 'zod';
import { MqttUrl } from '../protocols/config-common.ts';
import { DeviceModel, Serial } from '../protocols/health.ts';
import { SEGMENT_PATTERN } from '../protocols/topics.ts';
import { ClusterConfig, DatabaseConfig } from './cluster/cluster-config.ts';
import { RemoteRebootConfig } from './reboot/reboot-config.ts';
import { RulesConfig } from './rules/rules-config.ts';

const Segment = z.string().regex(SEGMENT_PATTERN, 'expected letters, digits, _ . - (no / + #)');
const Port = z.number().int().min(0).max(65535);
const LocalDate = z.iso.date();

export const AgentCredential = z
  .strictObject({
    id: Segment,
    site: Segment,
    /** scrypt hash `scrypt$<saltB64>$<hashB64>` or `scrypt$<log2N>$<saltB64>$<hashB64>`: the config holds no secret. */
    passwordHash: z
      .string()
      .regex(/^scrypt(\$(1[0-9]|20))?\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'expected scrypt$[log2N$]<salt>$<hash>')
      .optional(),
    /** Or the plain password (best from the environment `HEZO_AGENT_<ID>_PASSWORD`): compared as an HMAC, never logged. */
    password: z.string().min(8).optional(),
    /** Or a file holding the plain password (a Docker/Kubernetes secret); trailing newline ignored. */
    passwordFile: z.string().min(1).optional(),
  })
  .refine((a) => a.passwordHash !== undefined || a.password !== undefined || a.passwordFile !== undefined, {
    error: 'expected `passwordHash`, `password`, `passwordFile` or HEZO_AGENT_<ID>_PASSWORD in the environment',
  });
export type AgentCredential = z.infer<typeof AgentCredential>;

export const BusinessCalendarConfig = z.strictObject({
  timeZone: z.string().default('Europe/Warsaw'),
  /** [open, close) local time, `HH:MM`. */
  opens: z
    .string()
    .regex(/^\d{2}:\d{2}$/)
    .default('08:00'),
  closes: z
    .string()
    .regex(/^\d{2}:\d{2}$/)
    .default('16:00'),
  /** ISO weekdays that are working days (1 = Monday). */
  workingDays: z.array(z.number().int().min(1).max(7)).default([1, 2, 3, 4, 5]),
  /** Country for statutory holidays (date-holidays code). */
  holidaysCountry: z.string().default('PL'),
  /** Extra closed days (local dates). */
  closedDays: z.array(LocalDate).default([]),
});
export type BusinessCalendarConfig = z.infer<typeof BusinessCalendarConfig>;

export const CustomerConfig = z.strictObject({
  id: Segment,
  name: z.string().min(1),
  calendar: BusinessCalendarConfig.optional(),
  contactEmail: z.email().optional(),
});

/** SLA-2: a contract covers devices 1-3 years from its start, extendable to year 4 and 5. */
export const ContractConfig = z.strictObject({
  number: z.string().min(1).max(64),
  customer: Segment,
  start: LocalDate,
  termYears: z.number().int().min(1).max(3),
  extensionYears: z.number().int().min(0).max(2).default(0),
  serials: z.array(Serial).default([]),
});
export type ContractConfig = z.infer<typeof ContractConfig>;

export const DeviceConfig = z.strictObject({
  serial: Serial,
  model: DeviceModel.default('unknown'),
  site: Segment,
  customer: Segment,
  name: z.string().max(120).optional(),
});
export type DeviceConfig = z.infer<typeof DeviceConfig>;

export const MaintenanceWindow = z
  .strictObject({
    site: Segment.optional(),
    serial: Serial.optional(),
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    reason: z.string().max(200).default('planned maintenance'),
  })
  .refine((w) => w.site !== undefined || w.serial !== undefined, { error: 'expected `site` or `serial`' });
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

export const DetectionConfig = z.strictObject({
  /** Consecutive polls with every channel failed before `down`. */
  downAfterFailedPolls: z.number().int().min(1).max(10).default(2),
  /** Flapping: this many down/up cycles or reboots within the window -> degraded (reported once). */
  flapCount: z.number().int().min(2).max(20).default(3),
  flapWindowMs: z
    .number()
    .int()
    .min(60_000)
    .default(30 * 60_000),
  packetLossPct: z.number().min(0).max(100).default(5),
  jitterMs: z.number().min(0).default(50),
  /** Call quality must be bad this long before `degraded`. */
  callQualityWindowMs: z.number().int().min(0).default(60_000),
  temperatureC: z.number().default(70),
  /** An agent silent for this many heartbeat intervals is offline even without its Last Will. */
  agentMissedHeartbeats: z.number().int().min(2).max(20).default(3),
  /** Records older or newer than this (vs the hub clock) are rejected as live state. */
  maxClockSkewMs: z
    .number()
    .int()
    .min(1000)
    .default(5 * 60_000),
  /** One channel failing (others answering) this many polls in a row -> degraded `channel-failed`. */
  partialChannelFailedPolls: z.number().int().min(1).max(50).default(3),
  /** While flapping, a down episode is reported as `down` only once it lasts this long. */
  flapDownHoldMs: z
    .number()
    .int()
    .min(0)
    .default(10 * 60_000),
  /** Temperature must fall this far below `temperatureC` before the problem clears (hysteresis). */
  temperatureHysteresisC: z.number().min(0).default(3),
  /** Replayed or stale records older than this are rejected (`STALE_RECORD`), not stored. */
  maxReplayAgeMs: z
    .number()
    .int()
    .min(60_000)
    .default(7 * 24 * 3_600_000),
  /** How often lastSeen and the recent health records are written to SQLite (batched). */
  flushIntervalMs: z.number().int().min(100).default(5000),
  /** Recent health records kept per device (memory ring and SQLite ring). */
  recentRecordsPerDevice: z.number().int().min(1).max(1000).default(10),
  /**
   * Health history in SQLite: at most one record per device per this interval, plus every record that shows a
   * failed channel or component (the evidence of a problem is always kept). 0 = every record.
   */
  historyEveryMs: z.number().int().min(0).default(60_000),
  /**
   * Freshness deadline: a device with no USED health record for this many of its poll intervals becomes
   * `unknown` (reason `stale`, cause named in a `records-stale` site alert), whatever the reason.
   */
  freshnessPolls: z.number().int().min(2).max(100).default(3),
  /** How often the freshness deadlines are checked. */
  freshnessCheckMs: z.number().int().min(100).default(5000),
});
export type DetectionConfig = z.infer<typeof DetectionConfig>;

export const NotificationsConfig = z.strictObject({
  smtp: z
    .strictObject({
      host: z.string().min(1),
      port: Port,
      secure: z.boolean().default(false),
      username: z.string().optional(),
      password: z.string().optional(),
      from: z.email(),
      to: z.array(z.email()).min(1),
    })
    .optional(),
  webhooks: z
    .array(z.strictObject({ url: z.url(), secret: z.string().min(16), events: z.array(z.string()).optional() }))
    .default([]),
  maxAttempts: z.number().int().min(1).max(20).default(5),
  retryBaseMs: z.number().int().min(10).default(1000),
});
export type NotificationsConfig = z.infer<typeof NotificationsConfig>;

export const HubConfig = z.strictObject({
  version: z.literal(1),
  /** This hub node's id (shown by `/healthz`, part of the default MQTT client id); default the host name. */
  node: Segment.optional(),
  dataDir: z.string().min(1).default('./hezo-data'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  http: z
    .strictObject({ host: z.string().default('127.0.0.1'), port: Port.default(8080) })
    .default({ host: '127.0.0.1', port: 8080 }),
  api: z.strictObject({
    /** Admin token (`HEZO_API_TOKEN`). */
    token: z.string().min(16, 'expected at least 16 characters'),
    /** Read-only tokens, e.g. for NOC wall screens. */
    readTokens: z.array(z.string().min(16)).default([]),
  }),
  mqtt: z
    .strictObject({
      /** Embedded aedes broker (default) or an external broker the hub connects to as a client. */
      mode: z.enum(['embedded', 'external']).default('embedded'),
      host: z.string().default('127.0.0.1'),
      port: Port.default(1883),
      /** MQTT over websocket for browser-side tools; 0 = random, omitted = off. */
      wsPort: Port.optional(),
      tls: z.strictObject({ port: Port, certFile: z.string(), keyFile: z.string() }).optional(),
      /**
       * Anonymous clients, no authentication, no per-agent ACL: for development only, and only together with
       * `insecureDevelopmentOnly: true` (the hub then logs a warning every minute).
       */
      allowAnonymous: z.boolean().default(false),
      insecureDevelopmentOnly: z.boolean().default(false),
      /** A client must send CONNECT within this long after opening the connection. */
      connectTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
      /** Largest CONNECT packet (before authentication), bytes. Larger announcements close the connection at once. */
      maxConnectBytes: z
        .number()
        .int()
        .min(256)
        .max(1024 * 1024)
        .default(16 * 1024),
      /** Connections one agent may hold at once (distinct client ids). */
      maxConnectionsPerAgent: z.number().int().min(1).max(100).default(4),
      /** Failed logins per IP address and per username before exponential delays start. */
      loginFreeAttempts: z.number().int().min(1).max(100).default(5),
      /** First refusal delay after the free attempts; doubles with every further failure up to `loginMaxDelayMs`. */
      loginBaseDelayMs: z.number().int().min(10).default(1000),
      loginMaxDelayMs: z
        .number()
        .int()
        .min(100)
        .default(5 * 60_000),
      /** For `external`: the broker URL and the hub's own credentials. */
      url: z.string().optional(),
      /** For `external`: several broker URLs (a cluster's nodes), tried in turn with back-off; wins over `url`. */
      urls: z.array(MqttUrl).min(1).optional(),
      /** For `external`: the persistent-session client id (`clean: false`); default `hezo-hub-<node>`. */
      clientId: Segment.optional(),
      /** For `external`: wait before reconnecting, doubled after each failed round over `urls`. */
      reconnectMinMs: z.number().int().min(10).default(500),
      reconnectMaxMs: z.number().int().min(10).default(10_000),
      username: z.string().optional(),
      password: z.string().optional(),
      /** Max messages per second per client before its messages are dropped (flood guard). */
      maxMessagesPerSecond: z.number().int().min(1).default(2000),
    })
    .refine((m) => m.mode !== 'external' || m.url !== undefined || m.urls !== undefined, {
      error: 'expected `url` or `urls` (the external broker) when mode is external',
      path: ['url'],
    })
    .default({
      mode: 'embedded',
      host: '127.0.0.1',
      port: 1883,
      allowAnonymous: false,
      insecureDevelopmentOnly: false,
      connectTimeoutMs: 5000,
      maxConnectBytes: 16 * 1024,
      maxConnectionsPerAgent: 4,
      loginFreeAttempts: 5,
      loginBaseDelayMs: 1000,
      loginMaxDelayMs: 5 * 60_000,
      maxMessagesPerSecond: 2000,
      reconnectMinMs: 500,
      reconnectMaxMs: 10_000,
    }),
  agents: z.array(AgentCredential).default([]),
  customers: z.array(CustomerConfig).default([]),
  contracts: z.array(ContractConfig).default([]),
  devices: z.array(DeviceConfig).default([]),
  maintenance: z.array(MaintenanceWindow).default([]),
  calendar: BusinessCalendarConfig.default(BusinessCalendarConfig.parse({})),
  detection: DetectionConfig.default(DetectionConfig.parse({})),
  notifications: NotificationsConfig.default(NotificationsConfig.parse({})),
  /** Drift and early-warning rules (hub/rules): configuration problems -> P3, trends -> watches. */
  rules: RulesConfig.default(RulesConfig.parse({})),
  /** Safe remote reboot of a unit whose REST hangs (hub/reboot): off unless a customer's policy is listed. */
  remoteReboot: RemoteRebootConfig.default(RemoteRebootConfig.parse({})),
  attachments: z
    .strictObject({
      maxBytesPerAttachment: z
        .number()
        .int()
        .min(1024)
        .default(100 * 1024 * 1024),
      maxBytesPerTicket: z
        .number()
        .int()
        .min(1024)
        .default(500 * 1024 * 1024),
      collectTimeoutMs: z.number().int().min(1000).default(120_000),
      /** A compressed archive that expands beyond this many bytes is refused (note on the ticket), not stored. */
      maxDecompressedBytes: z
        .number()
        .int()
        .min(1024)
        .default(64 * 1024 * 1024),
    })
    .default({
      maxBytesPerAttachment: 100 * 1024 * 1024,
      maxBytesPerTicket: 500 * 1024 * 1024,
      collectTimeoutMs: 120_000,
      maxDecompressedBytes: 64 * 1024 * 1024,
    }),
  /** Shared PostgreSQL: with `url` set this hub is one node of a cluster (partition leases, hub/cluster). */
  database: DatabaseConfig.optional(),
  /** Partitions and leases of a cluster of hub nodes (used when `database.url` is set). */
  cluster: ClusterConfig.default(ClusterConfig.parse({})),
  /** Devices that agents report but nobody registered. */
  adoption: z
    .strictObject({
      /**
       * `pending` (default): an unknown serial waits for an admin (`GET /api/devices/pending`), gets no ticket.
       * `register`: registered at once into the reporting agent's site (development and tests only).
       */
      unknownDevices: z.enum(['pending', 'register']).default('pending'),
      /** Pending serials kept per agent; further unknown serials of that agent are rejected. */
      maxPendingPerAgent: z.number().int().min(1).max(10_000).default(50),
    })
    .default({ unknownDevices: 'pending', maxPendingPerAgent: 50 }),
  /** Aids for operators proving what the hub received (off by default). */
  diagnostics: z
    .strictObject({
      /**
       * A file to which this node appends one line per health record that went through its detector
       * (`<agentId> <seq> <serial> <node>`), written before the record is acknowledged to the broker: with the
       * agents' outboxes it proves that no record the broker accepted was lost, across node deaths (kill -9).
       * Several nodes may share one file. Costs one write per record: for audits and chaos tests, not daily use.
       */
      recordLedger: z.string().min(1).optional(),
    })
    .default({}),
  /**
   * This hub is a demo or a test: the published example token and agent passwords are accepted. A real hub
   * refuses to start with them.
   */
  demo: z.boolean().default(false),
  influx: z
    .strictObject({
      url: z.url(),
      database: z.string().default('hezo'),
      username: z.string().optional(),
      password: z.string().optional(),
      batchSize: z.number().int().min(1).max(10_000).default(500),
      flushIntervalMs: z.number().int().min(50).default(1000),
      maxQueue: z.number().int().min(100).default(100_000),
      /** Longest wait between retries of a failed write (exponential backoff from `flushIntervalMs`). */
      retryMaxMs: z.number().int().min(100).default(30_000),
    })
    .optional(),
  ws: z
    .strictObject({
      pingIntervalMs: z.number().int().min(100).default(15_000),
      /** A client with more than this many bytes unsent gets a fresh snapshot instead of more deltas. */
      maxBufferedBytes: z
        .number()
        .int()
        .min(1024)
        .default(1024 * 1024),
      /** Changes within this window are coalesced (latest per device/ticket/site) into one flush. */
      coalesceMs: z.number().int().min(10).max(1000).default(100),
      /** A client stuck above `maxBufferedBytes` this long is terminated. */
      stuckClientTimeoutMs: z.number().int().min(100).default(30_000),
    })
    .default({
      pingIntervalMs: 15_000,
      maxBufferedBytes: 1024 * 1024,
      coalesceMs: 100,
      stuckClientTimeoutMs: 30_000,
    }),
});
export type HubConfig = z.infer<typeof HubConfig>;

export const HUB_ENV_OVERRIDES = {
  HEZO_API_TOKEN: 'api.token',
  HEZO_DATA_DIR: 'dataDir',
  HEZO_MQTT_PASSWORD: 'mqtt.password',
  HEZO_SMTP_PASSWORD: 'notifications.smtp.password',
  HEZO_INFLUX_PASSWORD: 'influx.password',
  HEZO_DATABASE_URL: 'database.url',
} as const;
