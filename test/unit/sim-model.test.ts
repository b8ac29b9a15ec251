/** Pure simulator logic: identities from the seed, fault specs and durations, device sessions/lockout/calls, CLI text. */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocols/clock.ts';
import { runCommand } from '../../simulator/cli.ts';
import { DEFAULT_TUNING, SimDevice } from '../../simulator/device.ts';
import { FaultBook, parseFaultSpec } from '../../simulator/faults.ts';
import { compareVersions, createIdentity, pickModels } from '../../simulator/identity.ts';
import { createPrng } from '../../simulator/prng.ts';

const tls = { key: 'k', cert: 'c' };

function makeDevice(clock: ManualClock, overrides: Partial<typeof DEFAULT_TUNING> = {}): SimDevice {
  const prng = createPrng(42);
  const identity = createIdentity('G7500', prng, '4.6.2.412233', new Set());
  return new SimDevice(
    identity,
    clock,
    prng.fork(),
    { ...DEFAULT_TUNING, autoCalls: false, ...overrides },
    tls,
    async () => tls,
    pino({ level: 'silent' }),
  );
}

describe('simulator identities', () => {
  it('are deterministic from the seed, unique, and follow the real formats', () => {
    const build = (seed: number) => {
      const prng = createPrng(seed);
      const taken = new Set<string>();
      return pickModels(50, prng).map((m) => createIdentity(m, prng, undefined, taken));
    };
    const a = build(7);
    expect(build(7)).toEqual(a);
    expect(build(8)).not.toEqual(a);
    expect(new Set(a.map((i) => i.serial)).size).toBe(50);
    expect(new Set(a.slice(0, 5).map((i) => i.model)).size).toBe(5);
    for (const i of a) {
      expect(i.serial).toMatch(/^8L20[0-9A-F]{8}[A-Z]{2}$/);
      expect(i.mac).toMatch(/^00:e0:db(:[0-9a-f]{2}){3}$/);
      expect(i.snmpV3.authKey.length).toBeGreaterThanOrEqual(8);
    }
    expect(a.find((i) => i.model === 'G7500')?.camera).toMatchObject({ model: 'Studio E70', isBuiltIn: false });
  });

  it('compares firmware versions numerically', () => {
    expect(compareVersions('4.6.2', '4.6.2')).toBe(0);
    expect(compareVersions('4.10.0', '4.6.2')).toBe(1);
    expect(compareVersions('3.14.1', '4.6.2')).toBe(-1);
  });
});

describe('simulator fault specs', () => {
  it('names the field in errors', () => {
    expect(parseFaultSpec({ kind: 'slow', value: 5 })).toMatchObject({ ok: true });
    expect(parseFaultSpec({})).toMatchObject({ ok: false, error: expect.stringMatching(/^kind:/) });
    expect(parseFaultSpec({ kind: 'network-loss', value: 1.5 })).toMatchObject({
      error: expect.stringMatching(/^value:/),
    });
    expect(parseFaultSpec({ kind: 'reboot', durationMs: 1.5 })).toMatchObject({
      error: expect.stringMatching(/^durationMs:/),
    });
  });

  it('clears a fault after durationMs on the clock and replaces a fault of the same kind', () => {
    const clock = new ManualClock(0);
    const events: string[] = [];
    const book = new FaultBook(clock, (f, phase) => events.push(`${f.kind}:${phase}`));
    book.inject({ kind: 'slow', durationMs: 1000 });
    expect(book.value('slow')).toBe(2000);
    book.inject({ kind: 'slow', value: 5 });
    clock.advance(5000);
    expect(book.has('slow')).toBe(true); // the replacement has no duration
    book.inject({ kind: 'garbage', durationMs: 100 });
    clock.advance(100);
    expect(book.has('garbage')).toBe(false);
    expect(events).toEqual(['slow:start', 'slow:end', 'slow:start', 'garbage:start', 'garbage:end']);
  });
});

describe('simulated device state', () => {
  it('counts uptime on the clock and resets it after a reboot', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const d = makeDevice(clock);
    const up0 = d.uptimeS();
    clock.advance(10_000);
    expect(d.uptimeS() - up0).toBe(10);
    d.injectFault({ kind: 'reboot', durationMs: 5000 });
    expect(d.isUp()).toBe(false);
    const booted = new Promise((resolve) => d.once('boot', resolve));
    clock.advance(5000);
    await booted;
    expect(d.isUp()).toBe(true);
    expect(d.uptimeS()).toBe(0);
    expect(d.history.map((e) => e.message)).toContain('reboot requested, shutting down');
  });

  it('locks logins after repeated failures and unlocks after lockoutMs', () => {
    const clock = new ManualClock(0);
    const d = makeDevice(clock, { lockoutAttempts: 2, lockoutMs: 1000 });
    const { username, password } = d.identity;
    expect(d.login(username, 'x', 'WEB', 'h')).toEqual({ ok: false, reason: 'SessionRequestInvalid' });
    d.login(username, 'x', 'WEB', 'h');
    expect(d.login(username, password, 'WEB', 'h')).toEqual({ ok: false, reason: 'SessionPortLockout' });
    clock.advance(1000);
    expect(d.login(username, password, 'WEB', 'h').ok).toBe(true);
  });

  it('emits packet-loss excessive/ok as call quality crosses the threshold', () => {
    const clock = new ManualClock(0);
    const d = makeDevice(clock);
    const seen: string[] = [];
    d.on('packet-loss', (phase: string) => seen.push(phase));
    d.startCall({ lossPct: 0.1 });
    d.injectFault({ kind: 'network-loss', value: 0.2 });
    d.faults.clear('network-loss');
    d.endCall();
    expect(seen).toEqual(['excessive', 'ok']);
    expect(d.history.some((e) => e.log === 'call' && e.message.includes('disconnected'))).toBe(true);
  });

  it('starts and ends calls by itself when autoCalls is on', () => {
    const clock = new ManualClock(0);
    const d = makeDevice(clock, { autoCalls: true, callIdleMeanMs: 60_000, callMeanMs: 60_000 });
    const phases: string[] = [];
    d.on('call', (phase: string) => phases.push(phase));
    d.start();
    clock.advance(10 * 60_000);
    d.stop();
    expect(phases.filter((p) => p === 'start').length).toBeGreaterThanOrEqual(2);
    expect(phases[0]).toBe('start');
  });
});

describe('simulated CLI output', () => {
  it('prints the Poly command-line formats', () => {
    const clock = new ManualClock(0);
    const d = makeDevice(clock);
    expect(runCommand(d, 'whoami')).toContain(`Serial Number: ${d.serial}`);
    expect(runCommand(d, 'status').at(-1)).toBe('status end');
    expect(runCommand(d, 'callinfo all')).toEqual(['system is not in a call']);
    expect(runCommand(d, 'getcallstate')).toEqual([
      'cs: call[0] inactive',
      'cs: call[1] inactive',
      'cs: call[2] inactive',
    ]);
    d.startCall({ farSiteName: 'HQ', lossPct: 1 });
    expect(runCommand(d, 'callinfo all')[1]).toMatch(
      /^callinfo:1:HQ:[\d.]+:\d+:connected:notmuted:(incoming|outgoing):videocall$/,
    );
    expect(runCommand(d, 'netstats')[0]).toMatch(/^call:0 txrate:\d+ K rxrate:\d+ K pktloss:\d+ %pktloss:[\d.]+ % /);
    expect(runCommand(d, 'advnetstats')[0]).toMatch(
      /tapl:\d+ rapl:\d+ taj:\d+ ms raj:\d+ ms tvpl:\d+ rvpl:\d+ tvj:\d+ ms rvj:\d+ ms/,
    );
    expect(runCommand(d, 'launch rockets')).toEqual(['error: command not found']);
  });
});
