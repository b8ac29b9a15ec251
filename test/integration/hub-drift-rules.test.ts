/**
 * Issue 18 on the real hub (MQTT in, SQLite, tickets, API): a configuration rule (firmware below the model's
 * minimum) opens one P3 automatic ticket that names the rule and its data, beside the device-health ticket key;
 * a trend rule (temperature above its threshold for N polls) raises a watch visible at GET /api/watches and
 * clears it when the device cools down; a device just below the thresholds gets neither.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createIncidentsModule } from '../../hub/incidents/module.ts';
import { createRulesModule } from '../../hub/rules/module.ts';
import type { DeviceWatch } from '../../hub/rules/watch-store.ts';
import { createTicketsModule } from '../../hub/tickets/module.ts';
import type { TicketView } from '../../hub/types.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub } from '../helpers/hub-fixture.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { waitFor } from '../helpers/wait-for.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('drift and early-warning rules on the hub', () => {
  it('old firmware -> one P3 with the rule and its data; hot for 3 polls -> a watch, cleared when cool; just below: nothing', async () => {
    const t = await startTestHub({
      modules: [createTicketsModule, createIncidentsModule, (ctx) => createRulesModule(ctx)],
      config: {
        customers: [{ id: 'acme', name: 'ACME' }],
        devices: [
          { serial: 'OLDFW001', model: 'StudioX50', site: 'site-a', customer: 'acme' },
          { serial: 'OKFW0001', model: 'StudioX50', site: 'site-a', customer: 'acme' },
        ],
        rules: { minFirmware: { StudioX50: '4.2.0' }, temperatureC: 60, temperaturePolls: 3 },
      },
    });
    cleanups.push(() => t.close());
    const agent = await connectAgent(t.urls.mqttUrl, {
      agentId: 'agent-1',
      site: 'site-a',
      password: 'agent-1-secret',
    });
    cleanups.push(() => agent.close());
    let seq = 0;
    const send = async (serial: string, firmware: string, temperatureC: number) => {
      seq++;
      await agent.send(
        'health',
        makeHealthRecord(
          { serial, seq, at: Date.now() },
          {
            identity: { serial, model: 'StudioX50', firmware },
            temperatureC,
          },
        ),
      );
    };
    const tickets = async () => (await (await t.api('/api/tickets?state=open')).json()) as TicketView[];
    const watches = async (state = 'active') =>
      (await (await t.api(`/api/watches?state=${state}`)).json()) as DeviceWatch[];

    for (let i = 0; i < 3; i++) {
      await send('OLDFW001', '4.1.9.412233', 61); // below the minimum, hot 3 polls
      await send('OKFW0001', '4.2.0', i < 2 ? 61 : 60); // the minimum itself; hot only 2 polls, then at the threshold
    }
    const p3 = await waitFor(
      async () => (await tickets()).find((x) => x.serial === 'OLDFW001' && x.priority === 'P3'),
      {
        what: 'the P3',
      },
    );
    expect(p3).toMatchObject({ channel: 'auto', priority: 'P3' });
    expect(p3.summary).toContain('firmware-below-minimum');
    expect(p3.summary).toContain('4.1.9.412233');
    const [watch, ...more] = await waitFor(
      async () => {
        const list = await watches();
        return list.length > 0 ? list : undefined;
      },
      { what: 'a watch' },
    );
    expect(more).toEqual([]);
    expect(watch).toMatchObject({ serial: 'OLDFW001', rule: 'temperature-high', state: 'active' });
    expect(watch?.data).toMatchObject({ thresholdC: 60, polls: 3 });
    // more polls of the same drift: still one P3 (a note), no second ticket
    await send('OLDFW001', '4.1.9.412233', 50);
    await waitFor(async () => (await watches()).length === 0, { what: 'the watch cleared when cool' });
    expect((await watches('all')).find((w) => w.rule === 'temperature-high')).toMatchObject({ state: 'cleared' });
    const open = await tickets();
    expect(open.filter((x) => x.serial === 'OLDFW001').map((x) => x.priority)).toEqual(['P3']);
    expect(open.filter((x) => x.serial === 'OKFW0001')).toEqual([]);
  });
});
