/**
 * Pure mapping from what one poll saw (REST, SNMP, TCP, SSH answers) to the normalised HealthRecord.
 * Every value the hub acts on is paired with an evidence line naming its source, path and raw value.
 */
import type { AgentDevice } from '../protocols/agent-config.ts';
import { DEVICE_MODELS } from '../protocols/device-models.ts';
import type {
  CallQuality,
  Component,
  ComponentStatus,
  DeviceModel,
  Evidence,
  HealthRecord,
  Identity,
  Probe,
} from '../protocols/health.ts';
import { isMaybeInCall, type RestObservation } from './poll/rest.ts';
import type { SnmpObservation } from './poll/snmp.ts';

/** The health schema's bound on `clockOffsetS` (protocols/health.ts). */
const MAX_CLOCK_OFFSET_S = 1e10;

export type RecordDraft = Omit<HealthRecord, 'seq' | 'replayed'>;

export interface ChannelResult<T> {
  probe: Probe;
  value?: T | undefined;
}

export interface DeviceObservation {
  device: AgentDevice;
  observedAt: string;
  tcp?: Probe;
  rest?: ChannelResult<RestObservation>;
  snmp?: ChannelResult<SnmpObservation>;
  ssh?: Probe;
  /** Extra evidence gathered by the poller (certificate, serial mismatch...). */
  evidence?: Evidence[];
}

export interface RecordContext {
  agentId: string;
  site: string;
  customer: string;
  pollIntervalMs: number;
}

const MAX_EVIDENCE = 200;
const MAX_COMPONENTS = 64;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

class EvidenceList {
  readonly items: Evidence[] = [];
  add(field: string, source: Evidence['source'], path: string, value: unknown): void {
    if (this.items.length >= MAX_EVIDENCE) return;
    const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
    this.items.push({ field: clip(field, 120), source, path: clip(path, 200), value: clip(text, 500) });
  }
}

/** `up`, `all_up` -> ok; `off` -> disabled; `down`, `some_down`, `all_down`, `offline` -> failed. */
export function statusFromRestState(state: string | undefined): ComponentStatus {
  const s = (state ?? '').toLowerCase();
  if (s === 'up' || s === 'all_up' || s === 'online' || s === 'ok') return 'ok';
  if (s === 'off' || s === 'disabled') return 'disabled';
  if (s.includes('down') || s === 'offline' || s === 'failed' || s === 'missing' || s === 'disconnected')
    return 'failed';
  return 'unknown';
}

/** POLYCOM-ENDPOINT-MIB status enum: 1 disabled, 2 ok, 3 failed. */
export function statusFromMib(value: number | string | undefined): ComponentStatus {
  if (value === 1) return 'disabled';
  if (value === 2) return 'ok';
  if (value === 3) return 'failed';
  return 'unknown';
}

function micStatus(state: string | undefined): ComponentStatus {
  const s = (state ?? '').toUpperCase();
  if (/GREEN|\bOK\b|CONNECTED$/.test(s) && !/DISCONNECTED/.test(s)) return 'ok';
  if (/RED|FAIL|DISCONNECT|MISSING|ERROR|NOT_CONNECTED/.test(s)) return 'failed';
  return 'unknown';
}

const STATUS_COMPONENTS: Record<string, { kind: Component['kind']; name: string }> = {
  'system.status.mr.camera': { kind: 'camera', name: 'cameras' },
  'system.status.trackablecamera': { kind: 'camera', name: 'trackable camera' },
  'system.status.camera': { kind: 'camera', name: 'camera' },
  'system.status.mr.audio': { kind: 'microphone', name: 'microphones' },
  'system.status.audio': { kind: 'microphone', name: 'audio' },
  'system.status.ipnetwork': { kind: 'network', name: 'ip network' },
};

function modelOf(text: string | undefined): DeviceModel | undefined {
  if (!text) return undefined;
  const compact = text
    .replace(/[\s_-]/g, '')
    .replace(/^Poly/i, '')
    .toLowerCase();
  return DEVICE_MODELS.find((m) => m.toLowerCase() === compact);
}

function restComponents(rest: RestObservation, ev: EvidenceList, out: Component[]): void {
  // microphones, cameras and peripherals may come from an earlier poll's detail read: say when
  const asOf = rest.detailReadAt === undefined ? '' : ` (read ${rest.detailReadAt})`;
  if (rest.detailReadAt !== undefined) ev.add('rest.detailReadAt', 'rest', 'last REST detail read', rest.detailReadAt);
  if (rest.readAt !== undefined) {
    ev.add(
      'rest.readAt',
      'rest',
      'REST not read this poll (restIntervalMs: SNMP answered, nothing changed): read',
      rest.readAt,
    );
  }
  for (const item of rest.status ?? []) {
    const mapped = STATUS_COMPONENTS[item.name];
    if (!mapped) continue;
    const state = item.stateList[0];
    out.push({ kind: mapped.kind, name: mapped.name, status: statusFromRestState(state), source: 'rest' });
    ev.add(`component.${mapped.name}`, 'rest', `/rest/system/status ${item.name}`, state ?? '(empty stateList)');
  }
  if (rest.microphones !== undefined) {
    if (rest.microphones.length === 0) {
      out.push({ kind: 'microphone', name: 'microphone', status: 'failed', source: 'rest' });
      ev.add('component.microphone', 'rest', `/rest/audio/microphones${asOf}`, '[] (no microphone connected)');
    }
    rest.microphones.forEach((mic, i) => {
      const name = `mic ${mic.number ?? i}${mic.typeInString ? ` ${mic.typeInString}` : ''}`;
      out.push({ kind: 'microphone', name, status: micStatus(mic.state), source: 'rest' });
      ev.add(`component.${name}`, 'rest', `/rest/audio/microphones[${i}].state${asOf}`, mic.state ?? '(none)');
    });
  }
  if (rest.cameras !== undefined) {
    if (rest.cameras.length === 0) {
      out.push({ kind: 'camera', name: 'camera', status: 'failed', source: 'rest' });
      ev.add('component.camera', 'rest', `/rest/cameras/near/all${asOf}`, '[] (no camera)');
    }
    rest.cameras.forEach((cam, i) => {
      const name = `camera ${cam.cameraIndex ?? i}${cam.name ? ` ${cam.name}` : cam.model ? ` ${cam.model}` : ''}`;
      const status: ComponentStatus = cam.connected === true ? 'ok' : cam.connected === false ? 'failed' : 'unknown';
      out.push({ kind: 'camera', name, status, source: 'rest' });
      ev.add(`component.${name}`, 'rest', `/rest/cameras/near/all[${i}].connected${asOf}`, String(cam.connected));
    });
  }
  for (const [i, p] of (rest.peripherals ?? []).entries()) {
    const category = (p.deviceCategory ?? '').toUpperCase();
    if (category === 'SYSTEM' || p.uid === 'local-system') continue;
    const kind: Component['kind'] | undefined =
      p.deviceType === 'TOUCHCONTROL'
        ? 'touch-controller'
        : category === 'CAMERA'
          ? 'camera'
          : category === 'MODULE'
            ? 'touch-controller'
            : undefined;
    if (!kind) continue;
    const state = (p.deviceState ?? '').toUpperCase();
    const status: ComponentStatus =
      state === 'CONNECTED' || state === 'PAIRED'
        ? 'ok'
        : state.includes('DISCONNECT') || state === 'UNPAIRED'
          ? 'failed'
          : 'unknown';
    const name = `peripheral ${p.productName ?? p.deviceType ?? p.uid ?? i}`;
    out.push({ kind, name, status, source: 'rest' });
    ev.add(
      `component.${name}`,
      'rest',
      `/rest/current/devicemanagement/devices[${i}].deviceState${asOf}`,
      p.deviceState ?? '(none)',
    );
  }
}

function snmpComponents(snmp: SnmpObservation, ev: EvidenceList, out: Component[]): void {
  const rows: [keyof SnmpObservation['values'], Component['kind'], string][] = [
    ['hardwareOverallStatus', 'system', 'hardware'],
    ['hardwareCameraStatus', 'camera', 'cameras'],
    ['hardwareMicrophoneStatus', 'microphone', 'microphones'],
    ['hardwareNICStatus', 'network', 'nic'],
  ];
  for (const [key, kind, name] of rows) {
    const value = snmp.values[key];
    if (value === undefined) continue;
    out.push({ kind, name, status: statusFromMib(value), source: 'snmp' });
    ev.add(`component.${name}`, 'snmp', key, String(value));
  }
}

function callQuality(obs: DeviceObservation, ev: EvidenceList): CallQuality | undefined {
  const rest = obs.rest?.value;
  if (rest?.conferences !== undefined) {
    const call: CallQuality = {
      inCall: rest.conferences.length > 0,
      activeCalls: Math.min(100, rest.conferences.length),
    };
    ev.add('call.inCall', 'rest', '/rest/conferences', `${rest.conferences.length} conference(s)`);
    const rx = (rest.mediaStats ?? []).filter((s) => (s.mediaDirection ?? 'RX').toUpperCase() === 'RX');
    const losses = rx.map((s) => s.percentPacketLoss).filter((n): n is number => typeof n === 'number');
    const jitters = rx.map((s) => s.jitter).filter((n): n is number => typeof n === 'number');
    const latencies = rx.map((s) => s.latency).filter((n): n is number => typeof n === 'number');
    if (losses.length > 0) {
      call.packetLossPct = Math.min(100, Math.max(0, ...losses));
      ev.add(
        'call.packetLossPct',
        'rest',
        '/rest/conferences/{id}/mediastats percentPacketLoss (max RX)',
        String(call.packetLossPct),
      );
    }
    if (jitters.length > 0) {
      call.jitterMs = Math.min(100_000, Math.max(0, ...jitters));
      ev.add('call.jitterMs', 'rest', '/rest/conferences/{id}/mediastats jitter (max RX)', String(call.jitterMs));
    }
    if (latencies.length > 0) call.latencyMs = Math.min(100_000, Math.max(0, ...latencies));
    return call;
  }
  const snmp = obs.snmp?.value;
  const active = snmp?.values.conferenceNumberActiveConferences;
  if (typeof active === 'number') {
    // a device may send any INTEGER (negative too): clamp to what the record can carry
    const call: CallQuality = { inCall: active > 0, activeCalls: Math.min(100, Math.max(0, active)) };
    ev.add('call.inCall', 'snmp', 'conferenceNumberActiveConferences', String(active));
    const c = snmp?.call ?? {};
    if (c.pctPacketLostRx !== undefined) call.packetLossPct = Math.min(100, Math.max(0, c.pctPacketLostRx));
    if (c.overallJitterRx !== undefined) call.jitterMs = Math.min(100_000, Math.max(0, c.overallJitterRx));
    if (c.overallLatencyRx !== undefined) call.latencyMs = Math.min(100_000, Math.max(0, c.overallLatencyRx));
    if (call.packetLossPct !== undefined)
      ev.add('call.packetLossPct', 'snmp', CALL_PATH_LOSS, String(call.packetLossPct));
    if (call.jitterMs !== undefined) ev.add('call.jitterMs', 'snmp', CALL_PATH_JITTER, String(call.jitterMs));
    return call;
  }
  // a light REST poll skipped the conference read because `/rest/system` state says the device is idle
  if (rest && !isMaybeInCall(rest.system)) {
    ev.add('call.inCall', 'rest', '/rest/system state', rest.system.state ?? '');
    return { inCall: false, activeCalls: 0 };
  }
  return undefined;
}

const CALL_PATH_LOSS = 'callActiveCallsTable PctPacketLostRX (1.3.6.1.4.1.13885.101.1.4.1.1.16)';
const CALL_PATH_JITTER = 'callActiveCallsTable OverallJitterRX (1.3.6.1.4.1.13885.101.1.4.1.1.20)';

export function normalise(obs: DeviceObservation, ctx: RecordContext): RecordDraft {
  const ev = new EvidenceList();
  for (const e of obs.evidence ?? []) ev.add(e.field, e.source, e.path, e.value);
  const { device } = obs;
  const rest = obs.rest?.value;
  const snmp = obs.snmp?.value;

  const identity: Identity = { serial: device.serial, model: device.model };
  const restModel = modelOf(rest?.system.model);
  const snmpModel = modelOf(
    typeof snmp?.values.identityDeviceModel === 'string' ? snmp.values.identityDeviceModel : undefined,
  );
  if (restModel) identity.model = restModel;
  else if (snmpModel) identity.model = snmpModel;
  if (rest?.system.model) ev.add('identity.model', 'rest', '/rest/system model', rest.system.model);
  else if (snmp?.values.identityDeviceModel !== undefined) {
    ev.add('identity.model', 'snmp', 'identityDeviceModel', String(snmp.values.identityDeviceModel));
  }
  if (rest?.system.softwareVersion) {
    identity.firmware = clip([rest.system.softwareVersion, rest.system.build].filter(Boolean).join('.'), 64);
    ev.add('identity.firmware', 'rest', '/rest/system softwareVersion+build', identity.firmware);
  } else if (typeof snmp?.values.identitySoftwareInfo === 'string') {
    identity.firmware = clip(snmp.values.identitySoftwareInfo, 64);
    ev.add('identity.firmware', 'snmp', 'identitySoftwareInfo', identity.firmware);
  }
  const hostname =
    rest?.system.systemName ?? (typeof snmp?.values.sysName === 'string' ? snmp.values.sysName : undefined);
  if (hostname) identity.hostname = clip(hostname, 128);
  const mac = rest?.peripherals?.find((p) => p.uid === 'local-system')?.macAddress;
  if (mac) identity.mac = clip(mac, 32);
  const reportedSerial =
    rest?.system.serialNumber ??
    (typeof snmp?.values.identityDeviceSerialNumber === 'string' ? snmp.values.identityDeviceSerialNumber : undefined);
  if (reportedSerial !== undefined) {
    ev.add(
      'identity.serial',
      rest?.system.serialNumber ? 'rest' : 'snmp',
      rest?.system.serialNumber ? '/rest/system serialNumber' : 'identityDeviceSerialNumber',
      reportedSerial,
    );
  }

  const components: Component[] = [];
  if (rest) restComponents(rest, ev, components);
  if (snmp) snmpComponents(snmp, ev, components);

  const reachability: HealthRecord['reachability'] = {};
  if (obs.tcp) reachability.tcp = obs.tcp;
  if (obs.rest) reachability.rest = obs.rest.probe;
  if (obs.snmp) reachability.snmp = obs.snmp.probe;
  if (obs.ssh) reachability.ssh = obs.ssh;
  for (const [channel, probe] of Object.entries(reachability)) {
    if (probe && !probe.ok && probe.error) {
      ev.add(
        `reachability.${channel}`,
        channel as Evidence['source'],
        `probe error ${probe.error.kind}`,
        probe.error.message,
      );
    }
  }

  const record: RecordDraft = {
    v: 1,
    agentId: ctx.agentId,
    site: ctx.site,
    customer: ctx.customer,
    observedAt: obs.observedAt,
    pollIntervalMs: ctx.pollIntervalMs,
    identity,
    reachability,
    // names carry device text (microphone types, camera names): cut to what the record allows
    components: components.slice(0, MAX_COMPONENTS).map((c) => ({ ...c, name: clip(c.name, 120) })),
    evidence: ev.items,
  };
  const call = callQuality(obs, ev);
  if (call) record.call = call;
  if (typeof rest?.system.uptime === 'number') {
    record.uptimeS = Math.round(rest.system.uptime);
    const path =
      rest.readAt === undefined ? '/rest/system uptime' : `/rest/system uptime (read ${rest.readAt}, advanced since)`;
    ev.add('uptimeS', 'rest', path, String(rest.system.uptime));
  } else if (typeof snmp?.values.sysUpTime === 'number') {
    record.uptimeS = Math.round(snmp.values.sysUpTime / 100);
    ev.add('uptimeS', 'snmp', 'sysUpTime (1.3.6.1.2.1.1.3.0)', String(snmp.values.sysUpTime));
  }
  // A device time that is no time (garbage, or beyond the schema's +-1e10 s) says nothing about drift: left out.
  const clockOffsetS =
    typeof rest?.system.systemTime === 'number'
      ? Math.round((rest.system.systemTime - Date.parse(obs.observedAt)) / 1000)
      : Number.NaN;
  if (rest !== undefined && Number.isFinite(clockOffsetS) && Math.abs(clockOffsetS) <= MAX_CLOCK_OFFSET_S) {
    record.clockOffsetS = clockOffsetS;
    ev.add('clockOffsetS', 'rest', '/rest/system systemTime (epoch ms) - agent clock', String(rest.system.systemTime));
  }
  const milliC = snmp?.values.lmTempSensorsValue1;
  if (typeof milliC === 'number' && milliC / 1000 >= -50 && milliC / 1000 <= 200) {
    record.temperatureC = Math.round(milliC / 100) / 10;
    ev.add('temperatureC', 'snmp', 'lmTempSensorsValue.1 (1.3.6.1.4.1.2021.13.16.2.1.3.1, mC)', String(milliC));
  }
  return record;
}
