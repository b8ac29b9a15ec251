/** Issue 18: a peripheral with its own serial (E70) becomes its own record; the host leaves the camera to it. */
import { describe, expect, it } from 'vitest';
import type { RecordDraft } from '../../agent/normalise.ts';
import { splitPeripherals, withPeripheralHosts } from '../../agent/peripherals.ts';
import type { Component } from '../../protocols/health.ts';

function host(components: Component[]): RecordDraft {
  return {
    v: 1,
    agentId: 'a',
    site: 's',
    customer: 'c',
    observedAt: '2026-11-30T02:00:00.000Z',
    pollIntervalMs: 10_000,
    identity: { serial: 'G75001', model: 'G7500' },
    reachability: { rest: { ok: true, attempts: 1 }, snmp: { ok: true, attempts: 1 } },
    components,
    uptimeS: 1000,
    call: { inCall: true, packetLossPct: 9 },
    evidence: [],
  };
}
const cam = (status: Component['status']): Component => ({ kind: 'camera', name: 'cameras', status, source: 'snmp' });
const hw = (status: Component['status']): Component => ({ kind: 'system', name: 'hardware', status, source: 'snmp' });
const mic = (status: Component['status']): Component => ({ kind: 'microphone', name: 'mic 0', status, source: 'rest' });
const e70 = (state: string) => [
  { deviceCategory: 'SYSTEM', uid: 'local-system', serialNumber: '' },
  {
    deviceCategory: 'CAMERA',
    productName: 'Poly Studio E70',
    deviceState: state,
    serialNumber: 'E70SER1',
    softwareVersion: '1.2.0',
  },
];

describe('peripherals as devices', () => {
  it('an E70 with its own serial becomes a record of its own, linked to its host; host call/uptime stay on the host', () => {
    const { host: h, peripherals } = splitPeripherals(host([cam('ok'), hw('ok'), mic('ok')]), e70('CONNECTED'));
    expect(peripherals).toHaveLength(1);
    const p = peripherals[0]!;
    expect(p.identity).toEqual({ serial: 'E70SER1', model: 'StudioE70', hostSerial: 'G75001', firmware: '1.2.0' });
    expect(p.components).toEqual([expect.objectContaining({ kind: 'camera', status: 'ok' })]);
    expect(p.reachability).toEqual(h.reachability);
    expect(p.call).toBeUndefined();
    expect(p.uptimeS).toBeUndefined();
    expect(h.components.map((c) => c.kind)).toEqual(['system', 'microphone']);
  });

  it('unplugged: the failure is the E70s; the host aggregate failure it causes is explained, not a second problem', () => {
    const { host: h, peripherals } = splitPeripherals(
      host([cam('failed'), hw('failed'), mic('ok')]),
      e70('DISCONNECTED'),
    );
    expect(peripherals[0]?.components[0]?.status).toBe('failed');
    expect(h.components.filter((c) => c.status === 'failed')).toEqual([]);
    expect(h.evidence.some((e) => e.value.includes('E70SER1'))).toBe(true);
  });

  it('a second failure on the host keeps the host aggregate failed', () => {
    const { host: h } = splitPeripherals(host([cam('failed'), hw('failed'), mic('failed')]), e70('DISCONNECTED'));
    expect(h.components.filter((c) => c.status === 'failed').map((c) => c.name)).toEqual(['hardware', 'mic 0']);
  });

  it('no peripheral with a serial (built-in camera, or REST did not answer): the host record unchanged', () => {
    const draft = host([cam('failed')]);
    expect(splitPeripherals(draft, undefined)).toEqual({ host: draft, peripherals: [] });
    expect(splitPeripherals(draft, [{ deviceCategory: 'CAMERA', serialNumber: '' }])).toEqual({
      host: draft,
      peripherals: [],
    });
  });

  it('commands for a peripheral find its host', () => {
    const map = withPeripheralHosts(new Map([['G75001', 'host poller']]), (s) =>
      s === 'E70SER1' ? 'G75001' : undefined,
    );
    expect(map.get('E70SER1')).toBe('host poller');
    expect(map.get('OTHER')).toBeUndefined();
    expect(map.size).toBe(1);
  });
});
