/**
 * What admins see on the NOC page (real hub + headless Chromium): a device whose certificate changed carries an
 * identity alert on its tile, and serials an agent reported but nobody registered are listed as pending adoption.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub, TEST_ADMIN_TOKEN, TEST_AGENTS } from '../helpers/hub-fixture.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent } from '../helpers/wait-for.ts';

const [A1, A2] = TEST_AGENTS;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('NOC page: identity alerts and pending devices', () => {
  it('shows the identity alert on the device tile and the pending serials', async () => {
    const t = await startTestHub({
      modules: 'all',
      config: {
        adoption: { unknownDevices: 'pending' },
        devices: [{ serial: 'SN-A', model: 'StudioX50', site: A1.site, customer: 'acme', name: 'Board room' }],
      },
    });
    cleanups.push(() => t.close());
    const owner = await connectAgent(t.urls.mqttUrl, { agentId: A1.id, site: A1.site, password: A1.password });
    cleanups.push(() => owner.close());
    const other = await connectAgent(t.urls.mqttUrl, { agentId: A2.id, site: A2.site, password: A2.password });
    cleanups.push(() => other.close());
    const up = nextBusEvent(t.hub.ctx.bus, 'device-state', (s) => s.serial === 'SN-A');
    await owner.send('health', makeHealthRecord({ agentId: A1.id, site: A1.site, serial: 'SN-A' }));
    await up;
    const alerted = nextBusEvent(t.hub.ctx.bus, 'device', (d) => (d.identityAlerts?.length ?? 0) > 0);
    await owner.send('event', {
      v: 1,
      agentId: A1.id,
      serial: 'SN-A',
      at: new Date().toISOString(),
      replayed: false,
      type: 'certificate-changed',
      detail: 'certificate changed without a reboot being seen; refused (was sha256:aa, now sha256:bb)',
    });
    await alerted;
    const pending = nextBusEvent(t.hub.ctx.bus, 'rejected', (r) => r.reason === 'PENDING_ADOPTION');
    await other.send('health', makeHealthRecord({ agentId: A2.id, site: A2.site, serial: 'NEW-1' }));
    await pending;

    const chromium = await launchChromium();
    cleanups.push(() => chromium.close());
    const page = await chromium.browser.newPage();
    await page.goto(`${t.urls.httpUrl}/?token=${TEST_ADMIN_TOKEN}`);
    const alert = page.locator('[data-testid="device"][data-serial="SN-A"] [data-testid="identity-alert"]');
    await alert.waitFor({ timeout: 20_000 });
    expect(await alert.textContent()).toContain('certificate changed');
    const row = page.locator('[data-testid="pending-device"][data-serial="NEW-1"]');
    await row.waitFor({ timeout: 20_000 });
    expect(await row.textContent()).toContain(`agent ${A2.id}`);
  });
});
