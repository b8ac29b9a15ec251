/**
 * Regressions found by the agent's fuzz doors (issue 13): device text and numbers a record cannot carry used
 * to make the health record invalid, so publishing it threw and the poll crashed. Each is now clipped or refused.
 */
import { describe, expect, it } from 'vitest';
import { buildAgentConfig } from '../../agent/config.ts';
import { normalise } from '../../agent/normalise.ts';
import { pollSnmp } from '../../agent/poll/snmp.ts';
import { type SnmpClient, SnmpType } from '../../protocols/clients/snmp.ts';
import { encodeMessage } from '../../protocols/messages.ts';

const config = buildAgentConfig({
  version: 1,
  agentId: 'a1',
  site: 's1',
  customer: 'c1',
  mqtt: { url: 'mqtt://127.0.0.1:1883' },
  devices: [{ serial: 'SN1', address: '10.0.0.5', channels: ['snmp'], snmp: { community: 'public' } }],
});
const device = config.devices[0]!;
const ctx = { agentId: 'a1', site: 's1', customer: 'c1', pollIntervalMs: 10_000 };
const encode = (draft: ReturnType<typeof normalise>) => encodeMessage('health', { ...draft, seq: 1, replayed: false });

describe('hostile device values still give a valid record', () => {
  it('a device time far outside any clock (1.4e19 s off) leaves clockOffsetS out; a sane one is kept', () => {
    const draftAt = (systemTime: number) =>
      normalise(
        {
          device,
          observedAt: '2026-11-30T00:00:00.000Z',
          rest: {
            probe: { ok: true, attempts: 1 },
            value: { system: { uptime: 10, systemTime }, microphones: [], unsupported: [] },
          },
        },
        ctx,
      );
    const wild = draftAt(1.4e22);
    expect(() => encode(wild)).not.toThrow();
    expect(wild.clockOffsetS).toBeUndefined();
    const sane = draftAt(Date.parse('2026-11-30T00:00:42.000Z'));
    expect(sane.clockOffsetS).toBe(42);
  });

  it('a 2000-character microphone type is cut in the component name', () => {
    const draft = normalise(
      {
        device,
        observedAt: '2026-11-30T00:00:00.000Z',
        rest: {
          probe: { ok: true, attempts: 1 },
          value: {
            system: { uptime: 10 },
            microphones: [{ number: 1, state: 'CONNECTED', typeInString: 'x'.repeat(2000) }],
            unsupported: [],
          },
        },
      },
      ctx,
    );
    expect(() => encode(draft)).not.toThrow();
    expect(draft.components[0]?.name.length).toBeLessThanOrEqual(120);
  });

  it('SNMP: fractional or unsafe integers are type errors, negative call counts are clamped', async () => {
    const answers: Record<string, { type: number; value: number }> = {
      '1.3.6.1.2.1.1.3.0': { type: SnmpType.TimeTicks, value: 12.5 },
      '1.3.6.1.4.1.13885.101.1.5.1.0': { type: SnmpType.Integer, value: -3 },
      '1.3.6.1.4.1.13885.101.1.3.1.0': { type: SnmpType.Counter64, value: 2 ** 64 },
    };
    const client: SnmpClient = {
      get: (oids) => Promise.resolve(oids.flatMap((oid) => (answers[oid] ? [{ oid, ...answers[oid] }] : []))),
      walk: () => Promise.resolve([]),
      close() {},
    };
    const value = await pollSnmp(client);
    expect(value.typeErrors.join('\n')).toMatch(/sysUpTime/);
    expect(value.typeErrors.join('\n')).toMatch(/hardwareOverallStatus/);
    const draft = normalise(
      { device, observedAt: '2026-11-30T00:00:00.000Z', snmp: { probe: { ok: true, attempts: 1 }, value } },
      ctx,
    );
    expect(() => encode(draft)).not.toThrow();
    expect(draft.call).toMatchObject({ inCall: false, activeCalls: 0 });
  });
});
