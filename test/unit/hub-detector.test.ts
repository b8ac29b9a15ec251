/** Outage detection (hub/outage): every transition and fault kind, on a virtual clock. */
import { beforeEach, describe, expect, it } from 'vitest';
import { DetectionConfig } from '../../hub/config.ts';
import { Detector } from '../../hub/outage/detector.ts';
import type { AgentPresenceEvent, DeviceTransition, SiteAlert } from '../../hub/types.ts';
import { ManualClock } from '../../protocols/clock.ts';
import type { HealthRecord } from '../../protocols/health.ts';
import type { DeviceEvent } from '../../protocols/messages.ts';
import { makeHealthRecord, makeHeartbeat, makePresence, type RecordOptions } from '../helpers/health-record.ts';

const POLL_MS = 10_000;
const START = '2026-03-02T10:00:00.000Z';

let clock: ManualClock;
let transitions: DeviceTransition[];
let alerts: SiteAlert[];
let presence: AgentPresenceEvent[];
let windows: Array<{ serial?: string; site?: string; from: number; to: number }>;
let detector: Detector;
let seq: number;

function makeDetector(overrides: Partial<DetectionConfig> = {}): Detector {
  return new Detector({
    config: DetectionConfig.parse(overrides),
    clock,
    sink: {
      transition: (t) => transitions.push(t),
      siteAlert: (a) => alerts.push(a),
      agentPresence: (e) => presence.push(e),
    },
    isInMaintenance: (serial, site, at) =>
      windows.some((w) => (w.serial === serial || w.site === site) && at >= w.from && at < w.to),
    deviceInfo: () => undefined,
  });
}

beforeEach(() => {
  clock = new ManualClock(START);
  transitions = [];
  alerts = [];
  presence = [];
  windows = [];
  seq = 0;
  detector = makeDetector();
});

function inbound<T>(message: T, agentId = 'agent-1', site = 'site-a') {
  return { message, agentId, site, clientId: agentId, receivedAtMs: clock.now() };
}

/** Feed one record observed now, then let one poll interval pass. */
function poll(options: RecordOptions = {}, patch: Partial<HealthRecord> = {}, d = detector): boolean {
  const record = makeHealthRecord({ serial: 'SN-1', at: clock.now(), seq: ++seq, ...options }, patch);
  const isLive = d.onHealth(inbound(record, record.agentId, record.site));
  clock.advance(POLL_MS);
  return isLive;
}

function event(type: DeviceEvent['type'], serial = 'SN-1'): void {
  detector.onDeviceEvent(
    inbound<DeviceEvent>({
      v: 1,
      agentId: 'agent-1',
      serial,
      at: new Date(clock.now()).toISOString(),
      replayed: false,
      type,
      detail: type,
    }),
  );
}

const states = () => transitions.map((t) => `${t.from}->${t.to}:${t.reason}`);

describe('detector: reachability', () => {
  it('marks a new device up on its first good record', () => {
    poll();
    expect(states()).toEqual(['unknown->up:first-seen']);
    expect(transitions[0]).toMatchObject({
      serial: 'SN-1',
      site: 'site-a',
      customer: 'acme',
      agentId: 'agent-1',
      inMaintenance: false,
    });
  });

  it('opens nothing on one missed poll', () => {
    poll();
    poll({ reachable: false });
    poll();
    poll({ reachable: false });
    poll();
    expect(states()).toEqual(['unknown->up:first-seen']);
  });

  it('goes down after two polls with every channel failed (power-off), with evidence, then recovers', () => {
    poll();
    const offAt = clock.now();
    poll({ reachable: false });
    poll({ reachable: false });
    expect(states()).toEqual(['unknown->up:first-seen', 'up->down:all-channels-failed']);
    const down = transitions[1]!;
    expect(Date.parse(down.at) - offAt).toBeLessThanOrEqual(2 * POLL_MS);
    expect(down.evidence).toEqual(
      expect.arrayContaining([
        expect.stringContaining('rest: timeout'),
        expect.stringContaining('2 consecutive polls'),
      ]),
    );
    poll({ reachable: false });
    expect(transitions).toHaveLength(2);
    poll();
    expect(states().at(-1)).toBe('down->up:recovered');
  });

  it('goes down at once when the agent reports the device gone', () => {
    poll();
    event('device-gone');
    expect(states().at(-1)).toBe('up->down:device-gone');
  });

  it('stays in its restored state on a failed poll after a restart (no flip to up)', () => {
    const restored = makeDetector();
    restored.restore([
      {
        serial: 'SN-1',
        site: 'site-a',
        customer: 'acme',
        agentId: 'agent-1',
        state: 'down',
        sinceMs: 0,
        reason: 'all-channels-failed',
      },
    ]);
    poll({ reachable: false }, {}, restored);
    expect(transitions).toEqual([]);
    poll({}, {}, restored);
    expect(states()).toEqual(['down->up:recovered']);
  });
});

describe('detector: degraded', () => {
  it('degrades on a failed camera, and on a missing microphone', () => {
    poll();
    const failedCamera = [
      { kind: 'camera', name: 'Main camera', status: 'failed', source: 'rest' },
    ] as HealthRecord['components'];
    poll({}, { components: failedCamera });
    expect(states().at(-1)).toBe('up->degraded:component-failed');
    expect(transitions.at(-1)!.problems).toEqual(['component-failed:camera']);
    const both = [
      ...failedCamera,
      { kind: 'microphone', name: 'Mic', status: 'failed', source: 'usb' },
    ] as HealthRecord['components'];
    poll({}, { components: both });
    expect(transitions).toHaveLength(2); // a second fault while degraded is not a new outage
    expect(detector.state('SN-1')?.problems).toEqual(['component-failed:camera', 'component-failed:microphone']);
    poll();
    expect(states().at(-1)).toBe('degraded->up:recovered');
  });

  it('degrades on one channel failing for several polls while others answer', () => {
    poll();
    const restDown = {
      rest: { ok: false, attempts: 3, error: { kind: 'timeout' as const, message: 'hung' } },
      snmp: { ok: true, attempts: 1 },
    };
    poll({}, { reachability: restDown });
    poll({}, { reachability: restDown });
    expect(transitions).toHaveLength(1);
    poll({}, { reachability: restDown });
    expect(states().at(-1)).toBe('up->degraded:channel-failed');
  });

  it('degrades on call quality bad for the whole window, not on a blip', () => {
    poll();
    const bad = { call: { inCall: true, packetLossPct: 12, jitterMs: 80 } };
    const good = { call: { inCall: true, packetLossPct: 0.1, jitterMs: 5 } };
    poll({}, bad); // blip
    poll({}, good);
    expect(transitions).toHaveLength(1);
    for (let i = 0; i < 6; i++) poll({}, bad); // 50 s of bad: not yet
    expect(transitions).toHaveLength(1);
    poll({}, bad); // 60 s
    expect(states().at(-1)).toBe('up->degraded:call-quality');
    expect(transitions.at(-1)!.evidence[0]).toContain('packet loss 12%');
    poll({}, good);
    expect(states().at(-1)).toBe('degraded->up:recovered');
  });

  it('degrades on high temperature, with hysteresis on the way back', () => {
    poll();
    poll({}, { temperatureC: 75 });
    expect(states().at(-1)).toBe('up->degraded:temperature');
    poll({}, { temperatureC: 69 });
    expect(transitions).toHaveLength(2);
    poll({}, { temperatureC: 60 });
    expect(states().at(-1)).toBe('degraded->up:recovered');
  });

  it('reports flapping once (down/up cycles), stays degraded while flapping, clears when the window is quiet', () => {
    poll();
    for (let cycle = 0; cycle < 3; cycle++) {
      poll({ reachable: false });
      poll({ reachable: false });
      poll();
    }
    expect(states()).toEqual([
      'unknown->up:first-seen',
      'up->down:all-channels-failed',
      'down->up:recovered',
      'up->down:all-channels-failed',
      'down->up:recovered',
      'up->down:all-channels-failed',
      'down->degraded:flapping',
    ]);
    const count = transitions.length;
    for (let cycle = 0; cycle < 3; cycle++) {
      poll({ reachable: false });
      poll({ reachable: false });
      poll();
    }
    expect(transitions).toHaveLength(count); // more flaps: no more transitions
    expect(detector.state('SN-1')).toMatchObject({ state: 'degraded', reason: 'flapping' });
    clock.advance(30 * 60_000);
    poll();
    expect(states().at(-1)).toBe('degraded->up:recovered');
  });

  it('reports reboots (uptime going backwards) as flapping, once', () => {
    poll({}, { uptimeS: 5000 });
    poll({}, { uptimeS: 30 });
    poll({}, { uptimeS: 40 });
    poll({}, { uptimeS: 10 });
    expect(transitions).toHaveLength(1);
    poll({}, { uptimeS: 5 });
    expect(states().at(-1)).toBe('up->degraded:flapping');
    poll({}, { uptimeS: 1 });
    expect(transitions).toHaveLength(2);
  });

  it('while flapping, reports down only once the outage lasts flapDownHoldMs', () => {
    poll();
    for (let i = 0; i < 3; i++) {
      event('reboot-detected');
      poll();
      poll();
    }
    expect(states().at(-1)).toBe('up->degraded:flapping');
    const holdPolls = (10 * 60_000) / POLL_MS;
    for (let i = 0; i < holdPolls; i++) poll({ reachable: false });
    expect(states().at(-1)).toBe('up->degraded:flapping');
    poll({ reachable: false });
    poll({ reachable: false });
    expect(states().at(-1)).toBe('degraded->down:all-channels-failed');
  });
});

describe('detector: agents', () => {
  it('agent offline: devices unknown, ONE site alert, cleared when the agent returns', () => {
    poll({ serial: 'SN-1' });
    poll({ serial: 'SN-2' });
    detector.onPresence(inbound(makePresence('offline')));
    detector.onPresence(inbound(makePresence('offline'))); // the retained will again: nothing new
    expect(states().slice(2)).toEqual(['up->unknown:agent-offline', 'up->unknown:agent-offline']);
    expect(alerts).toEqual([
      expect.objectContaining({ site: 'site-a', agentId: 'agent-1', status: 'raised', serials: ['SN-1', 'SN-2'] }),
    ]);
    detector.onPresence(inbound(makePresence('online')));
    expect(alerts.map((a) => a.status)).toEqual(['raised', 'cleared']);
    expect(presence.map((p) => p.status)).toEqual(['online', 'offline', 'online']);
    expect(detector.state('SN-1')?.state).toBe('unknown');
    poll({ serial: 'SN-1' });
    expect(states().at(-1)).toBe('unknown->up:recovered');
  });

  it('agent silent for agentMissedHeartbeats intervals: offline by timer, then back on its next message', () => {
    detector.onHeartbeat(inbound(makeHeartbeat({ intervalMs: POLL_MS })));
    poll();
    clock.advance(15_000);
    expect(alerts).toEqual([]);
    clock.advance(6_000); // 3 x 10 s since the last message
    expect(alerts).toEqual([expect.objectContaining({ status: 'raised', reason: 'heartbeat-missed' })]);
    expect(detector.state('SN-1')?.state).toBe('unknown');
    clock.advance(10 * 60_000);
    expect(alerts).toHaveLength(1);
    detector.onHeartbeat(inbound(makeHeartbeat({ intervalMs: POLL_MS })));
    expect(alerts.map((a) => a.status)).toEqual(['raised', 'cleared']);
  });

  it('keeps per-device state when another agent goes offline', () => {
    poll({ serial: 'SN-1' });
    poll({ serial: 'SN-B', agentId: 'agent-2', site: 'site-b' });
    detector.onPresence(inbound(makePresence('offline', { agentId: 'agent-2', site: 'site-b' }), 'agent-2', 'site-b'));
    expect(detector.state('SN-1')?.state).toBe('up');
    expect(detector.state('SN-B')?.state).toBe('unknown');
  });
});

describe('detector: maintenance and replay', () => {
  it('marks transitions in a maintenance window, and re-announces a still-down device when it ends', () => {
    poll();
    windows.push({ site: 'site-a', from: clock.now(), to: clock.now() + 60_000 });
    poll({ reachable: false });
    poll({ reachable: false });
    expect(transitions.at(-1)).toMatchObject({ to: 'down', inMaintenance: true });
    for (let i = 0; i < 3; i++) poll({ reachable: false });
    expect(transitions).toHaveLength(2);
    poll({ reachable: false });
    poll({ reachable: false }); // the window has ended
    expect(transitions.at(-1)).toMatchObject({
      from: 'down',
      to: 'down',
      reason: 'maintenance-ended',
      inMaintenance: false,
    });
    const count = transitions.length;
    poll({ reachable: false });
    expect(transitions).toHaveLength(count);
  });

  it('uses replayed, old and out-of-order records as history only', () => {
    poll();
    const old = clock.now() - 60 * 60_000;
    expect(poll({ reachable: false, replayed: true })).toBe(false);
    expect(poll({ reachable: false, replayed: true, at: old })).toBe(false);
    expect(poll({ reachable: false, at: old })).toBe(false); // stale, not flagged replayed
    expect(poll({ reachable: false, at: clock.now() - 25_000 })).toBe(true);
    expect(poll({ reachable: false, at: clock.now() - 50_000 })).toBe(false); // older than the last live one
    expect(states()).toEqual(['unknown->up:first-seen']);
  });
});

describe("an agent's devices (the set the room-network grouping reads)", () => {
  const members = (agentId: string) => [...(detector.agentDevices(agentId) ?? [])].sort();

  it('holds a device from its first record, moves it with its records between agents, and keeps it on repeats', () => {
    poll({ agentId: 'agent-1' });
    poll({ agentId: 'agent-1', serial: 'SN-2' });
    poll({ agentId: 'agent-1' });
    expect(members('agent-1')).toEqual(['SN-1', 'SN-2']);
    poll({ agentId: 'agent-2' });
    expect(members('agent-1')).toEqual(['SN-2']);
    expect(members('agent-2')).toEqual(['SN-1']);
    poll({ agentId: 'agent-1' });
    poll({ agentId: 'agent-1' });
    expect(members('agent-1')).toEqual(['SN-1', 'SN-2']);
    expect(members('agent-2')).toEqual([]);
  });

  it('keeps a restored device in its agent set when its records come again', () => {
    detector.restore([
      {
        serial: 'SN-9',
        site: 'site-a',
        customer: 'cust',
        agentId: 'agent-1',
        state: 'up',
        sinceMs: clock.now(),
        reason: 'restored',
        problems: [],
      },
    ]);
    poll({ agentId: 'agent-1', serial: 'SN-9' });
    expect(members('agent-1')).toEqual(['SN-9']);
  });
});
