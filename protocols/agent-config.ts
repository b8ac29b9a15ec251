/**
 * The agent's config file schema. It lives in protocols/ because two parts write or read it:
 * the agent (reads) and the simulator (`hezo sim --agent-config` writes a ready one for its fleet).
 */
import { z } from 'zod';
import { MqttUrl } from './config-common.ts';
import { DeviceModel, Serial } from './health.ts';
import { SEGMENT_PATTERN } from './topics.ts';

const Segment = z.string().regex(SEGMENT_PATTERN, 'expected letters, digits, _ . - (no / + #)');
const Port = z.number().int().min(1).max(65535);
const Host = z.union([z.ipv4(), z.ipv6(), z.hostname()], { error: 'expected an IPv4/IPv6 address or a hostname' });

export const TlsTrust = z.strictObject({
  /** `tofu`: trust the first certificate seen, then alert on change; `pinned`: only `fingerprint256`; `insecure`: accept any (only when asked). */
  mode: z.enum(['tofu', 'pinned', 'insecure']).default('tofu'),
  fingerprint256: z
    .string()
    .regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'expected a SHA-256 fingerprint AA:BB:...')
    .optional(),
});

export const RestSettings = z.strictObject({
  port: Port.default(443),
  username: z.string().min(1).default('admin'),
  password: z.string().min(1),
  tls: TlsTrust.default({ mode: 'tofu' }),
});

export const SnmpV3Settings = z.strictObject({
  user: z.string().min(1),
  authProtocol: z.enum(['sha', 'md5', 'sha256']).default('sha'),
  authKey: z.string().min(8),
  privProtocol: z.enum(['aes', 'des']).default('aes'),
  privKey: z.string().min(8),
});

export const SnmpSettings = z
  .strictObject({
    port: Port.default(161),
    version: z.enum(['2c', '3']).default('2c'),
    community: z.string().min(1).optional(),
    v3: SnmpV3Settings.optional(),
  })
  .refine((s) => (s.version === '2c' ? s.community !== undefined : s.v3 !== undefined), {
    error: 'expected `community` for version 2c, or `v3` for version 3',
  });

export const SshSettings = z
  .strictObject({
    port: Port.default(22),
    username: z.string().min(1).default('admin'),
    password: z.string().min(1).optional(),
    privateKeyPath: z.string().min(1).optional(),
  })
  .refine((s) => s.password !== undefined || s.privateKeyPath !== undefined, {
    error: 'expected `password` or `privateKeyPath`',
  });

export const AgentDevice = z.strictObject({
  serial: Serial,
  address: Host,
  model: DeviceModel.default('unknown'),
  name: z.string().max(120).optional(),
  channels: z
    .array(z.enum(['rest', 'snmp', 'ssh']))
    .min(1)
    .default(['rest', 'snmp']),
  rest: RestSettings.optional(),
  snmp: SnmpSettings.optional(),
  ssh: SshSettings.optional(),
});
export type AgentDevice = z.infer<typeof AgentDevice>;

export const AgentConfig = z.strictObject({
  version: z.literal(1),
  agentId: Segment,
  site: Segment,
  customer: Segment,
  mqtt: z
    .strictObject({
      /** The broker URL; or `urls`: several (a cluster's nodes), tried in turn with back-off. */
      url: MqttUrl.optional(),
      urls: z.array(MqttUrl).min(1).optional(),
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      /** Short keepalive: the broker publishes the Last Will after 1.5 x keepalive of silence. */
      keepaliveS: z.number().int().min(1).max(600).default(10),
      maxInflight: z.number().int().min(1).max(10_000).default(100),
      caFile: z.string().optional(),
    })
    .refine((m) => m.url !== undefined || m.urls !== undefined, { error: 'expected `url` or `urls`', path: ['url'] }),
  pollIntervalMs: z.number().int().min(1000).max(3_600_000).default(10_000),
  /**
   * REST is read at most this often while SNMP answers and shows nothing new (same status, identity, call count, no
   * reboot); the polls between carry the last REST read (evidence `rest.readAt`). REST is read at once on any poll
   * where SNMP fails or changes (a call starting or ending changes it), after a trap, a liveness miss, a command's
   * poll or a REST failure, while a component shows a problem, and on every poll of a device without SNMP. During a
   * call its statistics are read on this cadence. 0 (or anything up to `pollIntervalMs`): every poll.
   * Why: a REST poll (TLS connect, session, 2-7 requests) costs the agent ~4 ms of CPU and the device a TLS
   * handshake, against ~0.2 ms for SNMP (bench B8); Video OS's REST service is the fragile one (poly-devices.md 1.1).
   * Default 120 s: B8's 5 % with the liveness check (60 s: ~0.4 point more); a fault only REST shows (hung REST
   * service: a P2) is seen within 2 minutes.
   */
  restIntervalMs: z.number().int().min(0).max(3_600_000).default(120_000),
  requestTimeoutMs: z.number().int().min(100).max(60_000).default(3000),
  retries: z.number().int().min(0).max(5).default(2),
  retryBackoffMs: z.number().int().min(0).max(10_000).default(200),
  dataDir: z.string().min(1).default('./agent-data'),
  outbox: z
    .strictObject({ maxRecords: z.number().int().min(10).max(10_000_000).default(100_000) })
    .default({ maxRecords: 100_000 }),
  logCache: z
    .strictObject({
      refreshMs: z.number().int().min(10_000).default(3_600_000),
      /** Largest log archive downloaded from a device (as sent, maybe gzipped). */
      maxArchiveBytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 * 1024 * 1024)
        .default(64 * 1024 * 1024),
      /** Largest size a (gzipped) log archive may unpack to; a bigger one (a gzip bomb) is refused, nothing kept. */
      maxUnpackedBytes: z
        .number()
        .int()
        .min(1024)
        .max(4 * 1024 * 1024 * 1024)
        .default(256 * 1024 * 1024),
    })
    .default({ refreshMs: 3_600_000, maxArchiveBytes: 64 * 1024 * 1024, maxUnpackedBytes: 256 * 1024 * 1024 }),
  usb: z
    .strictObject({ enabled: z.boolean().default(false), sysfsRoot: z.string().default('/sys/bus/usb/devices') })
    .default({ enabled: false, sysfsRoot: '/sys/bus/usb/devices' }),
  /**
   * SNMP notifications from the devices (v1/v2c with their communities, v3 with their USM users): each one
   * becomes an event and an immediate re-poll of its device. Port 0 = any free port (tests).
   */
  traps: z
    .strictObject({
      enabled: z.boolean().default(false),
      address: z.union([z.ipv4(), z.ipv6()], { error: 'expected an IPv4/IPv6 address' }).default('0.0.0.0'),
      port: z.number().int().min(0).max(65535).default(162),
    })
    .default({ enabled: false, address: '0.0.0.0', port: 162 }),
  /**
   * Between full polls, a check of each device every `intervalMs` (spread over the fleet): one SNMP v2c GET datagram,
   * else a bare TCP connect to its service port; `missesToConfirm` misses in a row -> confirmed at once over
   * SNMP + TCP and reported as a failed poll.
   */
  liveness: z
    .strictObject({
      enabled: z.boolean().default(true),
      intervalMs: z.number().int().min(200).max(60_000).default(1000),
      timeoutMs: z.number().int().min(50).max(10_000).default(800),
      missesToConfirm: z.number().int().min(1).max(10).default(2),
      maxConfirmsPerEpisode: z.number().int().min(1).max(10).default(3),
    })
    .default({ enabled: true, intervalMs: 1000, timeoutMs: 800, missesToConfirm: 2, maxConfirmsPerEpisode: 3 }),
  devices: z.array(AgentDevice).max(5000),
});
export type AgentConfig = z.infer<typeof AgentConfig>;

/** Secrets from the environment override the file. */
export const AGENT_ENV_OVERRIDES = {
  HEZO_MQTT_USERNAME: 'mqtt.username',
  HEZO_MQTT_PASSWORD: 'mqtt.password',
} as const;
