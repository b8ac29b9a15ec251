/**
 * Realistic health records (~780 bytes of JSON, like a Studio X50 polled over REST + SNMP), built fast:
 * everything but `seq` and `observedAt` is serialised once per device.
 */
import type { HealthRecord } from '../../protocols/health.ts';
import { decodeMessage, encodeMessage } from '../../protocols/messages.ts';

export interface DeviceTemplate {
  serial: string;
  head: string;
  tail: string;
}

export function healthRecord(
  agentId: string,
  site: string,
  serial: string,
  seq: number,
  at: string,
  reachable = true,
): HealthRecord {
  const ok = { ok: true, attempts: 1, latencyMs: 38 };
  const failed = { ok: false, attempts: 3, error: { kind: 'timeout' as const, message: 'no answer in 2000 ms' } };
  return {
    v: 1,
    agentId,
    site,
    customer: 'bench-customer',
    seq,
    observedAt: at,
    replayed: false,
    pollIntervalMs: 10_000,
    identity: { serial, model: 'StudioX50', firmware: '4.1.0.412233', hostname: `x50-${serial.toLowerCase()}` },
    reachability: reachable ? { rest: { ...ok }, snmp: { ...ok, latencyMs: 6 } } : { rest: failed, snmp: failed },
    components: reachable
      ? [
          { kind: 'camera', name: 'Main camera', status: 'ok', source: 'rest' },
          { kind: 'microphone', name: 'Built-in microphones', status: 'ok', source: 'rest' },
          { kind: 'speaker', name: 'Built-in speaker', status: 'ok', source: 'rest' },
          { kind: 'network', name: 'LAN', status: 'ok', source: 'snmp' },
        ]
      : [],
    call: reachable ? { inCall: false, activeCalls: 0 } : undefined,
    uptimeS: reachable ? 86_400 : undefined,
    temperatureC: reachable ? 46.5 : undefined,
    evidence: reachable
      ? [
          { field: 'uptimeS', source: 'snmp', path: '1.3.6.1.2.1.1.3.0', value: '8640000' },
          { field: 'identityStatus', source: 'snmp', path: '1.3.6.1.4.1.13885.101.1.1.6.0', value: '1' },
          { field: 'temperatureC', source: 'snmp', path: '1.3.6.1.4.1.2021.13.16.2.1.3.1', value: '46500' },
        ]
      : [],
  } as HealthRecord;
}

const SEQ_MARK = 987654321;
const AT_MARK = '2000-01-01T00:00:00.000Z';

/** A template: `${head}${seq},"observedAt":"${iso}"${tail}` is the JSON (checked against the schema once). */
export function deviceTemplate(agentId: string, site: string, serial: string): DeviceTemplate {
  const text = encodeMessage('health', healthRecord(agentId, site, serial, SEQ_MARK, AT_MARK));
  const seqAt = text.indexOf(String(SEQ_MARK));
  const atEnd = text.indexOf(AT_MARK) + AT_MARK.length;
  const head = text.slice(0, seqAt);
  const between = text.slice(seqAt + String(SEQ_MARK).length, atEnd);
  if (between !== `,"observedAt":"${AT_MARK}`) throw new Error(`health template: unexpected field order ${between}`);
  const template = { serial, head, tail: text.slice(atEnd) };
  decodeMessage('health', render(template, 1, new Date().toISOString()));
  return template;
}

export function render(t: DeviceTemplate, seq: number, iso: string): string {
  return `${t.head}${seq},"observedAt":"${iso}${t.tail}`;
}
