/** Issue 18: the liveness watch on a virtual clock (spread, two misses -> confirmation, episode cap, no false confirm). */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { type LivenessProbes, LivenessWatch } from '../../agent/liveness.ts';
import type { DeviceObservation } from '../../agent/normalise.ts';
import type { AgentDevice } from '../../protocols/agent-config.ts';
import { ManualClock } from '../../protocols/clock.ts';
import type { Probe } from '../../protocols/health.ts';

const OK: Probe = { ok: true, attempts: 1 };
const REFUSED: Probe = { ok: false, attempts: 1, error: { kind: 'refused', message: 'tcp: connection refused' } };
const TIMEOUT: Probe = { ok: false, attempts: 1, error: { kind: 'timeout', message: 'snmp: no answer' } };

function device(serial: string): AgentDevice {
  return {
    serial,
    address: '10.0.0.1',
    model: 'StudioX50',
    channels: ['rest', 'snmp'],
    rest: { port: 443, username: 'admin', password: 'pw', tls: { mode: 'tofu' } },
    snmp: { port: 161, version: '2c', community: 'c' },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function setup(
  serials: string[],
  config: Partial<{ missesToConfirm: number; maxConfirmsPerEpisode: number }> = {},
  withPing = false,
) {
  const clock = new ManualClock(0);
  const dead = new Set<string>();
  const snmpDead = new Set<string>();
  const checkedAt = new Map<string, number[]>();
  const pingedAt = new Map<string, number[]>();
  const confirmed: DeviceObservation[] = [];
  const probes: LivenessProbes = {
    tcp: (d, _port, _isConfirm) => {
      checkedAt.set(d.serial, [...(checkedAt.get(d.serial) ?? []), clock.now()]);
      return Promise.resolve(dead.has(d.serial) ? REFUSED : OK);
    },
    snmp: (d) => Promise.resolve(snmpDead.has(d.serial) ? TIMEOUT : OK),
    ...(withPing
      ? {
          ping: (d: AgentDevice) => {
            pingedAt.set(d.serial, [...(pingedAt.get(d.serial) ?? []), clock.now()]);
            return Promise.resolve(snmpDead.has(d.serial) ? TIMEOUT : OK);
          },
        }
      : {}),
  };
  /** When each device's regular poll last answered (the target's answeredAtMs). */
  const answeredAt = new Map<string, number>();
  const watch = new LivenessWatch(
    serials.map((s) => ({ device: device(s), tcpPort: () => 443, answeredAtMs: () => answeredAt.get(s) })),
    { intervalMs: 1000, timeoutMs: 800, missesToConfirm: 2, maxConfirmsPerEpisode: 3, ...config },
    { clock, logger: pino({ level: 'silent' }), probes, onConfirmedMiss: (o) => confirmed.push(o) },
  );
  const advance = async (ms: number) => {
    for (let t = 0; t < ms; t += 50) {
      clock.advance(50);
      await flush();
      await flush();
    }
  };
  return { clock, dead, snmpDead, checkedAt, pingedAt, confirmed, watch, advance, answeredAt };
}

describe('liveness watch', () => {
  it('checks every device about once a second, spread over the second', async () => {
    const { watch, advance, checkedAt } = setup(['A', 'B', 'C', 'D']);
    watch.start();
    await advance(3000);
    watch.stop();
    for (const s of ['A', 'B', 'C', 'D']) expect(checkedAt.get(s)?.length).toBe(3);
    const firstChecks = ['A', 'B', 'C', 'D'].map((s) => checkedAt.get(s)?.[0]);
    expect(new Set(firstChecks).size).toBe(4);
    expect(watch.counters).toMatchObject({ checks: 12, misses: 0, confirmations: 0 });
  });

  it('two misses in a row are confirmed at once over SNMP + TCP and reported; at most 3 per episode; a new episode after the port answers', async () => {
    const { watch, advance, dead, snmpDead, confirmed } = setup(['A', 'B']);
    watch.start();
    await advance(1000);
    dead.add('A');
    snmpDead.add('A');
    await advance(1000);
    expect(confirmed).toHaveLength(0); // one miss
    await advance(1000);
    expect(confirmed).toHaveLength(1); // second miss -> confirmed at once
    const first = confirmed[0]!;
    expect(first.device.serial).toBe('A');
    expect(first.tcp?.ok).toBe(false);
    expect(first.snmp?.probe.ok).toBe(false);
    expect(first.evidence?.[0]?.value).toContain('2 misses in a row');
    await advance(10_000);
    expect(confirmed).toHaveLength(3); // capped per episode; regular polls carry on
    dead.delete('A');
    snmpDead.delete('A');
    await advance(2000);
    dead.add('A');
    snmpDead.add('A');
    await advance(3000);
    expect(confirmed).toHaveLength(5); // misses 2 and 3 of the new episode
    expect(confirmed.every((o) => o.device.serial === 'A')).toBe(true);
    watch.stop();
  });

  it('silent: one miss (a lost packet), or two misses while SNMP still answers, report nothing', async () => {
    const { watch, advance, dead, snmpDead, confirmed } = setup(['A'], {});
    watch.start();
    dead.add('A');
    snmpDead.add('A');
    await advance(1000);
    dead.delete('A');
    await advance(3000);
    expect(confirmed).toHaveLength(0);
    dead.add('A');
    snmpDead.delete('A');
    await advance(5000);
    expect(confirmed).toHaveLength(0);
    expect(watch.counters.confirmations).toBeGreaterThan(0);
    watch.stop();
  });

  it('SNMP v2c devices are checked with the one-datagram SNMP check, no TCP connect; a dead unit is confirmed over TCP + SNMP', async () => {
    const { watch, advance, dead, snmpDead, checkedAt, pingedAt, confirmed } = setup(['A', 'B'], {}, true);
    watch.start();
    await advance(3000);
    expect(pingedAt.get('A')).toHaveLength(3);
    expect(checkedAt.size).toBe(0);
    expect(watch.counters).toMatchObject({ checks: 6, snmpChecks: 6, misses: 0 });
    dead.add('A');
    snmpDead.add('A');
    await advance(1000);
    expect(confirmed).toHaveLength(1);
    expect(confirmed[0]?.tcp?.ok).toBe(false);
    expect(confirmed[0]?.snmp?.probe.ok).toBe(false);
    expect(checkedAt.get('A')).toHaveLength(2); // the TCP check right after the missed SNMP one, the confirmation's
    expect(checkedAt.has('B')).toBe(false);
    watch.stop();
  });

  it('a missed SNMP check is followed at once by a TCP connect: a dead unit is confirmed one check early', async () => {
    const { watch, advance, dead, snmpDead, checkedAt, confirmed } = setup(['A'], {}, true);
    watch.start();
    await advance(1000);
    dead.add('A');
    snmpDead.add('A');
    await advance(1000); // one SNMP check: missed -> TCP at once: missed -> confirmed
    expect(confirmed).toHaveLength(1);
    expect(checkedAt.get('A')).toHaveLength(2);
    watch.stop();
  });

  it('SNMP silent while the TCP port answers: nothing reported, that device is checked over TCP for a while', async () => {
    const { watch, advance, snmpDead, checkedAt, pingedAt, confirmed } = setup(['A', 'B'], {}, true);
    watch.start();
    await advance(1000);
    snmpDead.add('A');
    await advance(1000); // a missed SNMP check -> a TCP check at once: it answers
    const pings = pingedAt.get('A')?.length ?? 0;
    await advance(5000);
    expect(confirmed).toHaveLength(0);
    expect(watch.counters.confirmations).toBe(0);
    expect(pingedAt.get('A')?.length).toBe(pings); // no more SNMP checks of A for now
    expect(checkedAt.get('A')?.length).toBe(6); // the one after the missed SNMP check + 5 regular TCP checks
    expect(pingedAt.get('B')?.length).toBe(7); // B untouched
    watch.stop();
  });

  it('a device whose poll answered within the interval is skipped at its turn (the poll was the check); the others, and it once the answer is older, are checked', async () => {
    const { watch, advance, clock, pingedAt, answeredAt } = setup(['A', 'B'], {}, true);
    watch.start();
    await advance(1000);
    expect(pingedAt.get('A')).toHaveLength(1);
    // A's poll answers before each of its turns (polls as frequent as the checks): never pinged
    for (let i = 0; i < 5; i++) {
      answeredAt.set('A', clock.now());
      await advance(1000);
    }
    expect(pingedAt.get('A')).toHaveLength(1);
    expect(pingedAt.get('B')).toHaveLength(6);
    expect(watch.counters.skipped).toBe(5);
    // the last answer grows older than the interval: checked again at the next turn
    await advance(1000);
    expect(pingedAt.get('A')).toEqual([500, 6500]);
    watch.stop();
  });

  it('a device that answered its poll but missed a check is not skipped: the misses are counted through to a confirmation', async () => {
    const { watch, advance, clock, dead, snmpDead, confirmed, answeredAt } = setup(['A'], {});
    watch.start();
    await advance(1000);
    dead.add('A');
    snmpDead.add('A');
    await advance(1000); // miss 1 (A's turns: every 1000 ms)
    await advance(500);
    answeredAt.set('A', clock.now()); // a poll that answered (the last datagram before the unit died)
    await advance(500); // miss 2: checked although the poll answered 500 ms ago -> confirmed
    expect(confirmed).toHaveLength(1);
    expect(watch.counters.skipped).toBe(0);
    watch.stop();
  });
});
