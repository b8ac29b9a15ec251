/**
 * Every payload on the wire, one strict zod schema each (unknown fields are errors), version 1.
 * `decodeMessage(kind, bytes)` is the only way the hub and the agent read a payload.
 */
import { z } from 'zod';
import { ErrorCode } from './errors.ts';
import { HealthRecord, IsoInstant, Serial } from './health.ts';
import { readPayload, serialiseWithin } from './payload.ts';
import type { TopicKind } from './topics.ts';
import { parseOrThrow } from './validation.ts';
import { ATTACHMENT_CHUNK_BYTES, MAX_BYTES } from './wire-limits.ts';

export { HealthRecord } from './health.ts';
export { ATTACHMENT_CHUNK_BYTES, MAX_BYTES };

const AgentId = z.string().min(1).max(64);
const CorrelationId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{6,64}$/, 'expected a correlation id of 6-64 letters, digits, _ or -');

export const Presence = z.strictObject({
  v: z.literal(1),
  agentId: AgentId,
  site: z.string().min(1).max(64),
  /** `stopping`: a planned stop (SIGTERM) - the hub raises nothing for it. */
  status: z.enum(['online', 'offline', 'stopping']),
  at: IsoInstant,
  agentVersion: z.string().max(32).optional(),
  /** Serials this agent watches; lets the hub mark them `unknown` when the agent goes offline. */
  devices: z.array(Serial).max(5000).optional(),
});
export type Presence = z.infer<typeof Presence>;

export const Heartbeat = z.strictObject({
  v: z.literal(1),
  agentId: AgentId,
  at: IsoInstant,
  intervalMs: z.number().int().min(1000).max(3_600_000),
  outboxDepth: z.number().int().min(0),
  outboxDropped: z.number().int().min(0),
  /** Progress of anything long (outbox replay, log collection), for the NOC page. */
  progress: z
    .array(z.strictObject({ task: z.string().max(80), done: z.number().min(0), total: z.number().min(0) }))
    .max(50)
    .optional(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

export const DeviceEvent = z.strictObject({
  v: z.literal(1),
  agentId: AgentId,
  serial: Serial,
  at: IsoInstant,
  replayed: z.boolean(),
  type: z.enum([
    'snmp-trap',
    'device-gone',
    'device-found',
    'reboot-detected',
    'certificate-changed',
    'ssh-host-key-changed',
    'session-limit',
  ]),
  detail: z.string().max(1000),
  /** For traps: the trap OID and its varbinds as text. */
  trapOid: z.string().max(200).optional(),
});
export type DeviceEvent = z.infer<typeof DeviceEvent>;

/**
 * `accept-identity`: an admin accepted a device's new REST certificate or SSH host key (`identity`);
 * `reboot`: reboot the device through the channel that still answers (`reason` says why).
 */
export const CommandKind = z.enum(['collect-logs', 'diagnose', 'poll-now', 'accept-identity', 'reboot']);
export type CommandKind = z.infer<typeof CommandKind>;

export const Command = z.strictObject({
  v: z.literal(1),
  id: CorrelationId,
  kind: CommandKind,
  serial: Serial,
  issuedAt: IsoInstant,
  /** The agent abandons the command after this long. */
  timeoutMs: z.number().int().min(100).max(600_000),
  /** Ticket the result belongs to, if any (attachments are tagged with it). */
  ticketId: z.string().max(64).optional(),
  /** Resume an attachment transfer from this chunk (after a reconnect). */
  resumeFrom: z.record(z.string(), z.number().int().min(0)).optional(),
  /** For `accept-identity`: which identity of the device to pin from now on (sha256 fingerprint as the event gave it). */
  identity: z.strictObject({ channel: z.enum(['rest', 'ssh']), fingerprint: z.string().min(1).max(200) }).optional(),
  /** For `reboot`: why (recorded by the agent and on the ticket). */
  reason: z.string().max(500).optional(),
});
export type Command = z.infer<typeof Command>;

export const ReplyOk = z.strictObject({
  v: z.literal(1),
  id: CorrelationId,
  ok: z.literal(true),
  data: z.record(z.string(), z.unknown()),
});
export const ReplyErr = z.strictObject({
  v: z.literal(1),
  id: CorrelationId,
  ok: z.literal(false),
  code: z.string().max(64),
  error: z.string().max(1000),
});
export const CommandReply = z.discriminatedUnion('ok', [ReplyOk, ReplyErr]);
export type CommandReply = z.infer<typeof CommandReply>;

export const AttachmentChunk = z.strictObject({
  v: z.literal(1),
  transferId: CorrelationId,
  commandId: CorrelationId,
  serial: Serial,
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'expected a file name of letters, digits, _ . -'),
  kind: z.enum(['device-logs', 'service-tests', 'agent-trace']),
  /** For cached archives: when the archive was taken. */
  capturedAt: IsoInstant.optional(),
  seq: z.number().int().min(0),
  total: z.number().int().min(1),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256'),
  data: z.base64().max(Math.ceil((ATTACHMENT_CHUNK_BYTES * 4) / 3) + 4),
});
export type AttachmentChunk = z.infer<typeof AttachmentChunk>;

export const SCHEMAS = {
  presence: Presence,
  heartbeat: Heartbeat,
  health: HealthRecord,
  event: DeviceEvent,
  reply: CommandReply,
  attachment: AttachmentChunk,
  cmd: Command,
} as const satisfies Record<TopicKind, z.ZodType>;

export type MessageOf<K extends TopicKind> = z.infer<(typeof SCHEMAS)[K]>;

/**
 * Decode one payload: size, JSON, schema version, then the strict schema.
 * Throws AppError PAYLOAD_TOO_LARGE | JSON_INVALID | SCHEMA_VERSION | PAYLOAD_INVALID with the path and value.
 */
export function decodeMessage<K extends TopicKind>(kind: K, payload: Buffer | string): MessageOf<K> {
  return parseOrThrow(SCHEMAS[kind], readPayload(kind, payload), ErrorCode.PAYLOAD_INVALID, kind) as MessageOf<K>;
}

/** Validate then serialise: the agent and hub never send a payload the other side would reject. */
export function encodeMessage<K extends TopicKind>(kind: K, message: MessageOf<K>): string {
  return serialiseWithin(kind, parseOrThrow(SCHEMAS[kind], message, ErrorCode.PAYLOAD_INVALID, kind));
}
