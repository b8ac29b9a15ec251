import { afterEach, describe, expect, it } from 'vitest';
import { type CertChange, CertTrustStore } from '../../agent/cert-trust.ts';
import { buildAgentConfig } from '../../agent/config.ts';
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
  const changes: CertChange[] = [];
  const store = new CertTrustStore(
    tmp.dir,
    (c) => changes.push(c),
    () => '2026-01-01T00:00:00.000Z',
  );
  store.load();
  return { store, device: config.devices[0]!, changes, dir: tmp.dir };
}

describe('certificate trust', () => {
  it('tofu: trusts the first, refuses a change (one event), accepts it after a reboot was seen', () => {
    const { store, device, changes, dir } = setup();
    expect(store.check(device, A)).toBeUndefined();
    expect(store.check(device, A)).toBeUndefined();
    expect(store.check(device, B)).toMatchObject({ kind: 'tls' });
    expect(store.check(device, B)).toMatchObject({ kind: 'tls' });
    expect(changes).toEqual([{ serial: 'SN1', previous: A, next: B, accepted: false }]);
    store.expectChange('SN1');
    expect(store.check(device, B)).toBeUndefined();
    expect(changes.at(-1)).toEqual({ serial: 'SN1', previous: A, next: B, accepted: true });
    // remembered across restarts
    const again = new CertTrustStore(
      dir,
      () => {},
      () => '',
    );
    again.load();
    expect(again.fingerprintOf('SN1')).toBe(B);
  });

  it('a reboot window closes after a successful poll', () => {
    const { store, device } = setup();
    store.check(device, A);
    store.expectChange('SN1');
    store.settled('SN1');
    expect(store.check(device, B)).toMatchObject({ kind: 'tls' });
  });

  it('pinned accepts only the configured fingerprint; insecure accepts any', () => {
    const pinned = setup({ mode: 'pinned', fingerprint256: A });
    expect(pinned.store.check(pinned.device, A)).toBeUndefined();
    expect(pinned.store.check(pinned.device, B)).toMatchObject({ kind: 'tls' });
    const insecure = setup({ mode: 'insecure' });
    expect(insecure.store.check(insecure.device, B)).toBeUndefined();
  });
});
