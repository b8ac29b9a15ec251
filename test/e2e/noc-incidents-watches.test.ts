/**
 * Issue 18 on the NOC wall (headless Chromium): an open site incident and an active device watch are shown,
 * read with the wall's read-only token; the acknowledged incident says who acknowledged it.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIncidentsModule } from '../../hub/incidents/module.ts';
import { createRulesModule, type RulesModule } from '../../hub/rules/module.ts';
import { createWsModule } from '../../hub/ws/module.ts';
import { createNocModule } from '../../hub/ws/noc-module.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { startTestHub, TEST_READ_TOKEN, type TestHub } from '../helpers/hub-fixture.ts';

describe('NOC page: site incidents and device watches', () => {
  let t: TestHub;
  let rules: RulesModule | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;

  beforeAll(async () => {
    t = await startTestHub({
      modules: [
        createIncidentsModule,
        (ctx) => {
          rules = createRulesModule(ctx);
          return rules;
        },
        createWsModule,
        (ctx) => createNocModule(ctx),
      ],
      config: {
        customers: [{ id: 'acme', name: 'ACME' }],
        devices: [{ serial: 'WALL0001', model: 'StudioX50', site: 'site-a', customer: 'acme' }],
      },
    });
    browser = await launchChromium();
    page = await browser.browser.newPage({ viewport: { width: 1600, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows the open site incident and the watch, then who acknowledged the incident', async () => {
    t.hub.ctx.bus.emit('site-alert', {
      site: 'site-a',
      agentId: 'agent-1',
      status: 'raised',
      at: new Date().toISOString(),
      reason: 'agent-offline',
      serials: ['WALL0001'],
    });
    await rules?.watches.raise(
      'WALL0001',
      'temperature-high',
      '61 °C; above 60 °C for 5 poll(s) in a row',
      { polls: 5 },
      new Date().toISOString(),
    );
    await page.goto(`${t.urls.httpUrl}/noc/?token=${encodeURIComponent(TEST_READ_TOKEN)}`);
    const incident = page.locator('[data-testid="site-incident"][data-site="site-a"]');
    await incident.waitFor({ timeout: 15_000 });
    expect(await incident.textContent()).toContain('OPEN');
    const watch = page.locator('[data-testid="device-watch"][data-serial="WALL0001"]');
    await watch.waitFor({ timeout: 15_000 });
    expect(await watch.textContent()).toContain('temperature-high');

    const [open] = (await (await t.api('/api/site-incidents')).json()) as { id: string }[];
    const ack = await t.api(`/api/site-incidents/${open?.id}/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'noc.operator' }),
    });
    expect(ack.status).toBe(200);
    await page.reload();
    // acknowledged by the signed-in caller (the config's admin token here)
    const who = ((await ack.json()) as { acknowledgedBy: string }).acknowledgedBy;
    await page.waitForSelector(`[data-testid="site-incident"]:has-text("acknowledged by ${who}")`, {
      timeout: 15_000,
    });
  });
});
