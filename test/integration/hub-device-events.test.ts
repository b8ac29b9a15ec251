/**
 * The `device` bus event (live dashboards) on the health hot path: emitted when something a dashboard shows
 * changes, and for lastSeen alone at most every LAST_SEEN_REFRESH_MS per device, never on every record.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LAST_SEEN_REFRESH_MS } from '../../hub/outage/module.ts';
import type { DeviceView } from '../../hub/types.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub } from '../helpers/hub-fixture.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('device events on the health hot path', () => {
  it('emits `device` on a visible change or a lastSeen refresh, not on every record', async () => {
    const clock = new ManualClock(Date.now());
    const t = await startTestHub({ clock });
    cleanups.push(() => t.close());
    const agent = await connectAgent(t.urls.mqttUrl, {
      agentId: 'agent-1',
      site: 'site-a',
      password: 'agent-1-secret',
    });
    cleanups.push(() => agent.close());
    const events: DeviceView[] = [];
    cleanups.push(t.hub.ctx.bus.on('device', (v) => events.push(v)));
    let seq = 0;
    /** Publish one record and wait until the hub has processed it (bus `health`). */
    const publish = async (patch: { firmware?: string } = {}) => {
      seq++;
      const processed = nextBusEvent(t.hub.ctx.bus, 'health', ({ record }) => record.seq === seq);
      const record = makeHealthRecord({ serial: 'SN-1', seq, at: clock.now() });
      if (patch.firmware !== undefined) record.identity.firmware = patch.firmware;
      await agent.send('health', record);
      await processed;
    };

    // the first record's transition (unknown -> up) is stored, then shown (a `device` event) and announced
    const firstUp = nextBusEvent(t.hub.ctx.bus, 'device-state', (d) => d.serial === 'SN-1' && d.to === 'up');
    await publish();
    await firstUp;
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.at(-1)).toMatchObject({ serial: 'SN-1', state: 'up', firmware: '4.1.0' });
    const afterFirst = events.length;

    // Same facts, inside the refresh interval: no event.
    clock.advance(1000);
    await publish();
    clock.advance(1000);
    await publish();
    expect(events).toHaveLength(afterFirst);

    // A visible change (firmware) is announced at once.
    clock.advance(100);
    await publish({ firmware: '4.2.0' });
    expect(events).toHaveLength(afterFirst + 1);
    expect(events.at(-1)).toMatchObject({ firmware: '4.2.0' });

    // lastSeen alone: refreshed once the interval has passed, with the current lastSeen.
    clock.advance(LAST_SEEN_REFRESH_MS);
    await publish({ firmware: '4.2.0' });
    expect(events).toHaveLength(afterFirst + 2);
    expect(events.at(-1)?.lastSeen).toBe(new Date(clock.now()).toISOString());

    // The API always shows the current lastSeen, whatever was emitted.
    clock.advance(500);
    await publish({ firmware: '4.2.0' });
    expect(events).toHaveLength(afterFirst + 2);
    const view = (await (await t.api('/api/devices/SN-1')).json()) as DeviceView;
    expect(view.lastSeen).toBe(new Date(clock.now()).toISOString());
  });
});
