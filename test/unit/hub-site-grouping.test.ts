/**
 * Room-network outage (hub/outage/site-grouping.ts) on a virtual clock: every device of one agent going down
 * together while the agent stays online is ONE site alert and no per-device ticket; a single device going down is
 * still its own P1, at most one hold window later.
 */
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { DetectionConfig } from '../../hub/config.ts';
import { Detector } from '../../hub/outage/detector.ts';
import { holdMsFor, SiteOutageGrouper } from '../../hub/outage/site-grouping.ts';
import { handleDeviceTransition } from '../../hub/tickets/auto-tickets.ts';
import type { TicketsService } from '../../hub/tickets/service.ts';
import type { DeviceTransition, SiteAlert } from '../../hub/types.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';

const POLL_MS = 10_000;
const HOLD_MS = holdMsFor(POLL_MS);
const START = '2026-03-02T10:00:00.000Z';

let clock: ManualClock;
/** Transitions as they reach the real sink, with the virtual time they arrived. */
let released: Array<DeviceTransition & { releasedAtMs: number }>;
let alerts: SiteAlert[];
let detector: Detector;
let grouper: SiteOutageGrouper;
let seq: number;
/** Automatic tickets the tickets module would open for the released transitions. */
let opened: string[];
/** When set, devices' answers are remembered as the outage module does (`answeredSince`). */
let answered: Map<string, number> | undefined;

beforeEach(() => {
  clock = new ManualClock(START);
  released = [];
  alerts = [];
  opened = [];
  seq = 0;
  answered = undefined;
  const service = {
    openAuto: (input: { serial: string; state: string }) => {
      opened.push(`${input.serial}:${input.state === 'down' ? 'P1' : 'P2'}`);
      return {} as never;
    },
    recordDeviceState: () => {},
  } as unknown as TicketsService;
  const logger = pino({ level: 'silent' });
  grouper = new SiteOutageGrouper({
    clock,
    sink: {
      transition: (t) => {
        released.push({ ...t, releasedAtMs: clock.now() });
        handleDeviceTransition(service, t, logger);
      },
      siteAlert: (a) => alerts.push(a),
      agentPresence: () => {},
    },
    agentDevices: (agentId) => detector.agentDevices(agentId),
    pollIntervalMs: (serial) => detector.pollIntervalMs(serial),
    isDown: (serial) => detector.state(serial)?.state === 'down',
    answeredSince: (serial, sinceMs) => (answered?.get(serial) ?? Number.NEGATIVE_INFINITY) >= sinceMs,
  });
  detector = new Detector({
    config: DetectionConfig.parse({}),
    clock,
    sink: grouper,
    isInMaintenance: () => false,
    deviceInfo: () => undefined,
  });
});

/** One record of `serial` (agent-1, site-a) observed now, fed as the outage module does. */
function record(serial: string, reachable: boolean, agentId = 'agent-1', site = 'site-a'): void {
  const message = makeHealthRecord({ serial, agentId, site, seq: ++seq, at: clock.now(), reachable });
  const isLive = detector.onHealth({ message, agentId, site, clientId: agentId, receivedAtMs: clock.now() });
  if (isLive && reachable) answered?.set(serial, clock.now());
  if (isLive && reachable && grouper.isHolding(agentId)) grouper.noteReachable(agentId, serial);
}

/**
 * One poll round: each device polled in turn, spread over the interval (as the agent does), then the rest of the
 * interval passes. `failing` devices have every channel failed.
 */
function round(serials: readonly string[], failing: ReadonlySet<string>, agentId = 'agent-1'): void {
  const step = Math.floor(POLL_MS / serials.length);
  for (const serial of serials) {
    record(serial, !failing.has(serial), agentId, agentId === 'agent-1' ? 'site-a' : 'site-b');
    clock.advance(step);
  }
  clock.advance(POLL_MS - step * serials.length);
}

const FOUR = ['SN-1', 'SN-2', 'SN-3', 'SN-4'];
const downs = () => released.filter((t) => t.to === 'down');

describe('site grouping: room network down', () => {
  it('one device of four going down is its own P1, released as soon as a sibling answers', () => {
    round(FOUR, new Set());
    round(FOUR, new Set(['SN-2']));
    round(FOUR, new Set(['SN-2']));
    expect(detector.state('SN-2')?.state).toBe('down');
    const detectedAtMs = detector.state('SN-2')!.sinceMs;
    expect(downs()).toHaveLength(1);
    const [t] = downs();
    expect(t).toMatchObject({
      serial: 'SN-2',
      reason: 'all-channels-failed',
      at: new Date(detectedAtMs).toISOString(),
    });
    expect(t?.groupedInSiteAlert).toBeUndefined();
    // SN-3 is polled one step (POLL_MS / 4) after SN-2 and answers: 80 % can no longer be reached.
    expect(t!.releasedAtMs - detectedAtMs).toBe(POLL_MS / 4);
    expect(opened).toEqual(['SN-2:P1']);
    expect(alerts).toEqual([]);
  });

  it('with no sibling answering, a single down is released when the hold window closes (the latency bound)', () => {
    round(['SN-1', 'SN-2'], new Set());
    // The agent's next polls of SN-2 are slow (no record); SN-1 fails twice.
    round(['SN-1'], new Set(['SN-1']));
    round(['SN-1'], new Set(['SN-1']));
    const detectedAtMs = detector.state('SN-1')!.sinceMs;
    expect(detector.state('SN-1')?.state).toBe('down');
    expect(grouper.heldCount).toBe(1);
    expect(opened).toEqual([]);
    clock.set(detectedAtMs + HOLD_MS - 1);
    expect(opened).toEqual([]);
    clock.advance(1);
    expect(opened).toEqual(['SN-1:P1']);
    expect(downs()[0]!.releasedAtMs - detectedAtMs).toBe(HOLD_MS);
    expect(alerts).toEqual([]);
  });

  it('every device of the agent going down in one poll round is ONE site alert and no per-device ticket', () => {
    round(FOUR, new Set());
    const all = new Set(FOUR);
    round(FOUR, all);
    round(FOUR, all);
    // The fourth one completes the set: decided at once, no need to wait for the window.
    expect(alerts).toEqual([
      {
        site: 'site-a',
        agentId: 'agent-1',
        status: 'raised',
        at: expect.any(String),
        reason: 'site-network-down',
        serials: FOUR,
      },
    ]);
    expect(downs().map((t) => [t.serial, t.groupedInSiteAlert])).toEqual(FOUR.map((s) => [s, true]));
    expect(opened).toEqual([]);
    expect(grouper.heldCount).toBe(0);

    // The room network comes back: the devices go up and the alert is cleared once none is down.
    round(FOUR, new Set());
    expect(released.filter((t) => t.to === 'up' && t.reason === 'recovered')).toHaveLength(4);
    expect(alerts.map((a) => `${a.status}:${a.reason}`)).toEqual([
      'raised:site-network-down',
      'cleared:site-network-back',
    ]);
    expect(alerts[1]?.serials).toEqual(FOUR);
    expect(opened).toEqual([]);
  });

  it('groups at >= 80 % of the devices (4 of 5), decided when the hold window closes', () => {
    const five = [...FOUR, 'SN-5'];
    round(five, new Set());
    const failing = new Set(FOUR);
    round(five, failing);
    round(five, failing);
    clock.advance(HOLD_MS);
    expect(alerts.map((a) => [a.reason, a.serials])).toEqual([['site-network-down', FOUR]]);
    expect(downs().every((t) => t.groupedInSiteAlert === true)).toBe(true);
    expect(opened).toEqual([]);
  });

  it('below 80 % (2 of 4) the held downs are released as usual: one P1 each, no site alert', () => {
    round(FOUR, new Set());
    const failing = new Set(['SN-1', 'SN-3']);
    round(FOUR, failing);
    round(FOUR, failing);
    clock.advance(HOLD_MS);
    expect(alerts).toEqual([]);
    expect(opened).toEqual(['SN-1:P1', 'SN-3:P1']);
  });

  it('an agent watching one device is never held', () => {
    const one = ['SN-9'];
    round(one, new Set(), 'agent-2');
    round(one, new Set(one), 'agent-2');
    round(one, new Set(one), 'agent-2');
    expect(grouper.heldCount).toBe(0);
    expect(opened).toEqual(['SN-9:P1']);
  });

  it('a held device that recovers inside the window gets its down then its up, in order', () => {
    round(['SN-1', 'SN-2'], new Set());
    round(['SN-1'], new Set(['SN-1']));
    round(['SN-1'], new Set(['SN-1']));
    expect(grouper.heldCount).toBe(1);
    record('SN-1', true);
    expect(released.filter((t) => t.serial === 'SN-1').map((t) => `${t.from}->${t.to}`)).toEqual([
      'unknown->up',
      'up->down',
      'down->up',
    ]);
    expect(grouper.heldCount).toBe(0);
    expect(opened).toEqual(['SN-1:P1']);
  });

  it('the agent going offline during the hold releases the held down before the unknown', () => {
    round(['SN-1', 'SN-2'], new Set());
    round(['SN-1'], new Set(['SN-1']));
    round(['SN-1'], new Set(['SN-1']));
    expect(grouper.heldCount).toBe(1);
    detector.onPresence({
      message: { v: 1, agentId: 'agent-1', site: 'site-a', status: 'offline', at: new Date(clock.now()).toISOString() },
      agentId: 'agent-1',
      site: 'site-a',
      clientId: 'agent-1',
      receivedAtMs: clock.now(),
    });
    expect(released.filter((t) => t.serial === 'SN-1').map((t) => t.to)).toEqual(['up', 'down', 'unknown']);
    expect(grouper.heldCount).toBe(0);
  });
});

describe('site grouping: answers of the same poll round count at once', () => {
  it('a sibling that answered earlier in the round releases a single down immediately', () => {
    answered = new Map();
    round(FOUR, new Set());
    round(FOUR, new Set(['SN-2']));
    round(FOUR, new Set(['SN-2']));
    const [t] = downs();
    expect(t?.serial).toBe('SN-2');
    // SN-1 answered one step before SN-2's second failed poll: no hold at all.
    expect(t!.releasedAtMs - detector.state('SN-2')!.sinceMs).toBe(0);
    expect(opened).toEqual(['SN-2:P1']);
  });

  it('answers from the round before the switch died do not count: still one site alert', () => {
    answered = new Map();
    round(FOUR, new Set());
    const all = new Set(FOUR);
    round(FOUR, all);
    round(FOUR, all);
    expect(downs()).toHaveLength(4);
    expect(downs().every((t) => t.groupedInSiteAlert === true)).toBe(true);
    expect(alerts.filter((a) => a.status === 'raised')).toHaveLength(1);
    expect(opened).toEqual([]);
  });
});
