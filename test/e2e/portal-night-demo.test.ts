/**
 * Issue 15 "Done when", the night step on the demo (real hub + simulated fleet + agents): the hub's and the agents'
 * clock is injected at Saturday 23:00 Warsaw (running in real time; the hub refuses agents whose clock is off); the customer's representative signs in through /signin,
 * raises a P3 for a covered room from the portal and sees its reaction clock "starts Mon 08:00" (the next opening);
 * the portal shows only acme's rooms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Demo, siteOf, startDemo } from '../../cli/demo.ts';
import { type Clock, systemClock } from '../../protocols/clock.ts';
import { artifactPath, launchChromium } from '../helpers/chromium.ts';
import { signInForm } from '../helpers/web-signin.ts';

// Saturday 28 Nov 2026, 23:00 Warsaw: P2/P3 clocks start Monday 30 Nov 08:00.
const NIGHT = Date.parse('2026-11-28T22:00:00Z');
const offset = NIGHT - Date.now();
const nightClock: Clock = { now: () => Date.now() + offset, setTimer: (ms, fn) => systemClock.setTimer(ms, fn) };

let demo: Demo;
let dataDir: string;
let browserHandle: Awaited<ReturnType<typeof launchChromium>>;
let portal: Page;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hezo-night-e2e-'));
  demo = await startDemo({
    devices: 6,
    httpPort: 0,
    mqttPort: 0,
    simPort: 0,
    dataDir,
    seed: 16,
    pollIntervalMs: 1000,
    apiToken: 'e2e-night-admin-token-0123456789',
    logger: pino({ level: process.env.HEZO_TEST_LOG ?? 'silent' }),
    clock: nightClock,
  });
  browserHandle = await launchChromium();
  const context = await browserHandle.browser.newContext({ viewport: { width: 1920, height: 1080 } });
  portal = await context.newPage();
});

afterAll(async () => {
  await browserHandle?.close();
  await demo?.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe('portal at night on the demo', () => {
  it('a P3 raised at night says its clock starts at the next opening', async () => {
    const all = demo.fleet.devices();
    // A device's serial and its peripherals' own (an E70 with a serial is a room of its own on the hub).
    const serialsOf = (d: (typeof all)[number]) =>
      d.usb !== undefined ? [d.serial] : [d.serial, ...d.peripherals.flatMap((p) => (p.serial ? [p.serial] : []))];
    const acme = new Set(all.filter((_, i) => siteOf(i).customer === 'acme').flatMap(serialsOf));
    await signInForm(portal, demo.urls.httpUrl, { name: 'acme-rep', password: demo.demoPassword, role: 'customer' });
    // A covered room of acme's (current contract, krakow-hq) to raise the ticket for.
    const i = all.findIndex((d, idx) => siteOf(idx).site === 'krakow-hq' && d.usb === undefined);
    const serial = all[i]!.serial;
    await portal.waitForSelector(`[data-testid="raise-serial"] option[value="${serial}"]`, {
      state: 'attached',
      timeout: 30_000,
    });
    // The agents (system clock) report into the night hub: the rooms come up.
    await portal.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="room"][data-state="up"]').length === n,
      acme.size,
      { timeout: 30_000 },
    );
    const rooms = await portal.locator('[data-testid="room"]').evaluateAll((els) => els.map((e) => e.dataset.serial!));
    expect(rooms.length).toBeGreaterThan(0);
    for (const s of rooms) expect(acme.has(s)).toBe(true);

    await portal.selectOption('[data-testid="raise-serial"]', serial);
    await portal.check('#raise-priority-P3');
    await portal.fill('[data-testid="raise-description"]', 'How do we share a second screen?');
    await portal.fill('[data-testid="raise-reporter"]', 'Ewa Kowalska, +48 600 000 000');
    await portal.click('[data-testid="raise-submit"]');
    await portal.waitForFunction(() =>
      document.querySelector('[data-testid="raise-result"]')?.textContent?.startsWith('✓'),
    );
    const id = await portal.locator('[data-testid="raise-result"]').getAttribute('data-ticket-id');
    const clock = portal.locator(`[data-testid="portal-ticket"][data-ticket-id="${id}"] [data-clock="reaction"]`);
    await clock.waitFor({ timeout: 10_000 });
    expect(await clock.getAttribute('data-status')).toBe('waiting');
    expect(await clock.locator('[data-testid="clock-text"]').textContent()).toBe('starts Mon 08:00');
    await portal.screenshot({ path: artifactPath('portal-night-demo.png'), fullPage: true });
  });
});
