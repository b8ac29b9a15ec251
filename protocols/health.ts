/**
 * The normalised device health model: what an agent saw of one device in one poll.
 * Every value the hub acts on carries the raw evidence it came from.
 */
import { z } from 'zod';
import { DEVICE_MODELS } from './device-models.ts';

export { DEVICE_MODELS };

export const DeviceModel = z.enum(DEVICE_MODELS);
export type DeviceModel = z.infer<typeof DeviceModel>;

export const Serial = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'expected a device serial (letters, digits, _ . -)');
export const IsoInstant = z.iso.datetime({ offset: true });

/** How a probe failed, so the hub can tell "device dead" from "REST service hung but SNMP answers". */
export const ProbeErrorKind = z.enum([
  'timeout',
  'refused',
  'unreachable',
  'tls',
  'http',
  'auth',
  'locked-out',
  'parse',
  'snmp',
  'ssh',
  'not-present',
  'other',
]);
export type ProbeErrorKind = z.infer<typeof ProbeErrorKind>;

export const ProbeError = z.strictObject({
  kind: ProbeErrorKind,
  message: z.string().max(500),
  httpStatus: z.number().int().min(100).max(599).optional(),
});
export type ProbeError = z.infer<typeof ProbeError>;

/** The result of one channel (REST, SNMP, TCP, SSH, USB) for one poll, after the agent's quick retries. */
export const Probe = z.strictObject({
  ok: z.boolean(),
  attempts: z.number().int().min(1).max(10),
  latencyMs: z.number().min(0).max(600_000).optional(),
  error: ProbeError.optional(),
});
export type Probe = z.infer<typeof Probe>;

export const CHANNELS = ['rest', 'snmp', 'tcp', 'ssh', 'usb'] as const;
export const Channel = z.enum(CHANNELS);
export type Channel = z.infer<typeof Channel>;

export const Reachability = z
  .strictObject({
    rest: Probe.optional(),
    snmp: Probe.optional(),
    tcp: Probe.optional(),
    ssh: Probe.optional(),
    usb: Probe.optional(),
  })
  .refine((r) => Object.keys(r).length > 0, 'expected at least one channel');
export type Reachability = z.infer<typeof Reachability>;

export const ComponentStatus = z.enum(['ok', 'failed', 'disabled', 'unknown']);
export type ComponentStatus = z.infer<typeof ComponentStatus>;

export const Component = z.strictObject({
  kind: z.enum(['camera', 'microphone', 'speaker', 'network', 'usb', 'touch-controller', 'system']),
  name: z.string().min(1).max(120),
  status: ComponentStatus,
  source: z.enum(['rest', 'snmp', 'ssh', 'usb']),
});
export type Component = z.infer<typeof Component>;

export const CallQuality = z.strictObject({
  inCall: z.boolean(),
  activeCalls: z.number().int().min(0).max(100).optional(),
  packetLossPct: z.number().min(0).max(100).optional(),
  jitterMs: z.number().min(0).max(100_000).optional(),
  latencyMs: z.number().min(0).max(100_000).optional(),
});
export type CallQuality = z.infer<typeof CallQuality>;

export const Identity = z.strictObject({
  serial: Serial,
  model: DeviceModel,
  firmware: z.string().max(64).optional(),
  hostname: z.string().max(128).optional(),
  mac: z.string().max(32).optional(),
  /** For a peripheral reported as a device of its own (a Studio E70 on a G7500): the serial of its host. */
  hostSerial: Serial.optional(),
});
export type Identity = z.infer<typeof Identity>;

/** Raw evidence: which source and path produced which value (a REST path, an OID, a CLI command, a sysfs file). */
export const Evidence = z.strictObject({
  field: z.string().max(120),
  source: z.enum(['rest', 'snmp', 'ssh', 'usb', 'tcp', 'agent']),
  path: z.string().max(200),
  value: z.string().max(500),
});
export type Evidence = z.infer<typeof Evidence>;

export const HealthRecord = z.strictObject({
  v: z.literal(1),
  agentId: z.string().min(1).max(64),
  site: z.string().min(1).max(64),
  customer: z.string().min(1).max(64),
  /** Per-agent monotonically increasing number; the hub uses it to order and to spot gaps. */
  seq: z.number().int().min(0),
  observedAt: IsoInstant,
  /** True when the record comes from the agent's on-disk outbox after an outage: history, not live state. */
  replayed: z.boolean(),
  pollIntervalMs: z.number().int().min(1000).max(3_600_000),
  identity: Identity,
  reachability: Reachability,
  components: z.array(Component).max(64),
  call: CallQuality.optional(),
  uptimeS: z.number().min(0).optional(),
  temperatureC: z.number().min(-50).max(200).optional(),
  /** The device's clock minus the agent's at the poll, in seconds (REST systemTime). */
  clockOffsetS: z.number().min(-1e10).max(1e10).optional(),
  evidence: z.array(Evidence).max(200),
});
export type HealthRecord = z.infer<typeof HealthRecord>;
