/** Builders for protocol messages as an agent would publish them (valid unless a test breaks them on purpose). */
import type { HealthRecord } from '../../protocols/health.ts';
import type { Heartbeat, Presence } from '../../protocols/messages.ts';

export interface RecordOptions {
  agentId?: string;
  site?: string;
  customer?: string;
  serial?: string;
  model?: HealthRecord['identity']['model'];
  seq?: number;
  at?: number | string;
  replayed?: boolean;
  /** Every channel answers (default), or every channel failed. */
  reachable?: boolean;
}

export function makeHealthRecord(options: RecordOptions = {}, patch: Partial<HealthRecord> = {}): HealthRecord {
  const reachable = options.reachable ?? true;
  const at = options.at ?? Date.now();
  const probe = reachable
    ? { ok: true, attempts: 1, latencyMs: 12 }
    : { ok: false, attempts: 3, error: { kind: 'timeout' as const, message: 'no answer in 3000 ms' } };
  return {
    v: 1,
    agentId: options.agentId ?? 'agent-1',
    site: options.site ?? 'site-a',
    customer: options.customer ?? 'acme',
    seq: options.seq ?? 1,
    observedAt: typeof at === 'string' ? at : new Date(at).toISOString(),
    replayed: options.replayed ?? false,
    pollIntervalMs: 10_000,
    identity: { serial: options.serial ?? 'SN-0001', model: options.model ?? 'StudioX50', firmware: '4.1.0' },
    reachability: { rest: { ...probe }, snmp: { ...probe } },
    components: reachable
      ? [
          { kind: 'camera', name: 'Main camera', status: 'ok', source: 'rest' },
          { kind: 'microphone', name: 'Built-in mic', status: 'ok', source: 'rest' },
        ]
      : [],
    uptimeS: reachable ? 3600 : undefined,
    temperatureC: reachable ? 45 : undefined,
    evidence: [],
    ...patch,
  } as HealthRecord;
}

export function makePresence(
  status: 'online' | 'offline',
  options: { agentId?: string; site?: string; devices?: string[]; at?: number } = {},
): Presence {
  return {
    v: 1,
    agentId: options.agentId ?? 'agent-1',
    site: options.site ?? 'site-a',
    status,
    at: new Date(options.at ?? Date.now()).toISOString(),
    ...(options.devices !== undefined ? { devices: options.devices } : {}),
  };
}

export function makeHeartbeat(options: { agentId?: string; intervalMs?: number; at?: number } = {}): Heartbeat {
  return {
    v: 1,
    agentId: options.agentId ?? 'agent-1',
    at: new Date(options.at ?? Date.now()).toISOString(),
    intervalMs: options.intervalMs ?? 10_000,
    outboxDepth: 0,
    outboxDropped: 0,
  };
}
