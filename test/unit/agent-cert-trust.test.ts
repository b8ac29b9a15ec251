import { afterEach, describe, expect, it } from 'vitest';
import { type CertChange, CertTrustStore } from '../../agent/cert-trust.ts';
import { buildAgentConfig } from '../../agent/config.ts';
import { IdentityStore, REBOOT_WINDOW_MS, RebootLedger } from '../../agent/identity-trust.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { tempDir } from '../helpers/agent-harness.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const A = Array.from({ length: 32 }, () => 'AA').join(':');
const B = Array.from({ length: 32 }, () => 'BB').join(':');

function setup(tls: Record<string, unknown> = { mode: 'tofu' }) {
  const tmp = tempDir();
  cleanups.push(tmp.close);
  const config = buildAgentConfig({
    version: 1,
    agentId: 'a1',
    site: 's1',
    customer: 'c1',
    mqtt: { url: 'mqtt://127.0.0.1:1883' },
    dataDir: tmp.dir,
    devices: [
      { serial: 'SN1', address: '10.0.0.5', rest: { password: 'pw123456', tls }, snmp: { community: 'public' } },
    ],
  });
  const clock = new ManualClock('2026-01-01T00:00:00Z');
  const ledger = new RebootLedger(clock);
  const changes: CertChange[] = [];
  const options = {
    dataDir: tmp.dir,
    ledger,
    onChange: (c: CertChange) => changes.push(c),
    now: () => new Date(clock.now()).toISOString(),
  };
  const store = new CertTrustStore(options);
  store.load();
  return { store, device: config.devices[0]!, changes, dir: tmp.dir, ledger, clock, options };
}

describe('certificate trust', () => {
  it('tofu: trusts the first, refuses a change (one event), accepts it after a reboot was seen', () => {
    const { store, device, changes, ledger, options } = setup();
    expect(store.check(device, A)).toBeUndefined();
    expect(store.check(device, A)).toBeUndefined();
    expect(store.check(device, B)).toMatchObject({ kind: 'tls' });
    expect(store.check(device, B)).toMatchObject({ kind: 'tls' });
    expect(changes).toEqual([{ serial: 'SN1', channel: 'rest', previous: A, next: B, accepted: false }]);
    ledger.rebootSeen('SN1');
    expect(store.check(device, B)).toBeUndefined();
    expect(changes.at(-1)).toEqual({
      serial: 'SN1',
      channel: 'rest',
      previous: A,
      next: B,
      accepted: true,
      by: 'reboot',
    });
    // remembered across restarts
    const again = new CertTrustStore({ ...options, onChange: () => {} });
    again.load();
    expect(again.fingerprintOf('SN1')).toBe(B);
  });

  it('a reboot seen before the old certificate was verified again does not open the window', () => {
    const { store, device, ledger } = setup();
    store.check(device, A);
    ledger.rebootSeen('SN1');
    expect(store.check(device, A)).toBeUndefined(); // same certificate after the reboot: window closed
    expect(store.check(device, B)).toMatchObject({ kind: 'tls' });
  });

  it('a reboot seen too long ago does not let a change in', () => {
    const { store, device, ledger, clock } = setup();
    store.check(device, A);
    ledger.rebootSeen('SN1');
    clock.advance(REBOOT_WINDOW_MS + 1);
    expect(store.check(device, B)).toMatchObject({ kind: 'tls' });
  });

  it('checkWithEvidence looks for a reboot before refusing, and refuses when there is none', async () => {
    const { store, device, ledger, changes } = setup();
    store.check(device, A);
    let seeks = 0;
    expect(
      await store.checkWithEvidence(device, B, async () => {
        seeks++;
      }),
    ).toMatchObject({ kind: 'tls' });
    expect(changes.map((c) => c.accepted)).toEqual([false]);
    expect(
      await store.checkWithEvidence(device, B, async () => {
        seeks++;
        ledger.rebootSeen('SN1');
      }),
    ).toBeUndefined();
    expect(seeks).toBe(2);
    expect(changes.map((c) => c.accepted)).toEqual([false, true]);
    // a throwing seek is no evidence
    expect(await store.checkWithEvidence(device, A, () => Promise.reject(new Error('snmp down')))).toMatchObject({
      kind: 'tls',
    });
  });

  it('pinned accepts only the configured fingerprint; insecure accepts any', () => {
    const pinned = setup({ mode: 'pinned', fingerprint256: A });
    expect(pinned.store.check(pinned.device, A)).toBeUndefined();
    expect(pinned.store.check(pinned.device, B)).toMatchObject({ kind: 'tls' });
    pinned.ledger.rebootSeen('SN1');
    expect(pinned.store.check(pinned.device, B)).toMatchObject({ kind: 'tls' });
    const insecure = setup({ mode: 'insecure' });
    expect(insecure.store.check(insecure.device, B)).toBeUndefined();
  });

  it('an admin accept pins the new fingerprint (SSH host keys use the same store)', () => {
    const { options } = setup();
    const changes: unknown[] = [];
    const keys = new IdentityStore({
      ...options,
      onChange: (c) => changes.push(c),
      file: 'known-ssh-host-keys.json',
      channel: 'ssh',
    });
    keys.load();
    const k1 = `SHA256:${'a'.repeat(43)}`;
    const k2 = `SHA256:${'b'.repeat(43)}`;
    expect(keys.check('SN1', k1)).toBeUndefined();
    expect(keys.check('SN1', k2)).toMatchObject({ kind: 'ssh' });
    expect(keys.accept('SN1', k2)).toEqual({ previous: k1 });
    expect(keys.check('SN1', k2)).toBeUndefined();
    expect(keys.check('SN1', k1)).toMatchObject({ kind: 'ssh' });
    expect(changes).toHaveLength(2);
  });
});
