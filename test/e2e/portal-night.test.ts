/**
 * Issue 15 in Chromium on a real hub whose clock is injected (Saturday 23:00 Warsaw, running in real time):
 * a customer raises a P3 from the portal at phone width and sees its clock "starts Mon 08:00" (the next opening);
 * the portal never shows another customer's room; the monthly report downloads as CSV with the right counts and
 * prints; the desk's phone ticket form checks the contract number; sign-in, `/` and session expiry.
 */
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, systemClock } from '../../protocols/clock.ts';
import { artifactPath, launchChromium } from '../helpers/chromium.ts';
import { startTestHub, TEST_ADMIN_TOKEN, type TestHub } from '../helpers/hub-fixture.ts';
import { signIn } from '../helpers/web-signin.ts';

// Saturday 28 Nov 2026, 23:00 Warsaw: P2/P3 clocks start Monday 30 Nov 08:00.
const NIGHT = Date.parse('2026-11-28T22:00:00Z');
const offset = NIGHT - Date.now();
/** The hub's clock: starts at NIGHT and runs in real time (timers are real, so the stream flushes). */
const nightClock: Clock = { now: () => Date.now() + offset, setTimer: (ms, fn) => systemClock.setTimer(ms, fn) };

const CONFIG = {
  customers: [
    { id: 'acme', name: 'ACME Sp. z o.o.' },
    { id: 'globex', name: 'Globex Polska S.A.' },
  ],
  contracts: [
    { number: 'HZ-2025-0107', customer: 'acme', start: '2025-02-01', termYears: 3, serials: ['X50-0001', 'X30-0002'] },
    { number: 'HZ-2026-0240', customer: 'globex', start: '2026-09-01', termYears: 2, serials: ['X70-0003'] },
  ],
  devices: [
    { serial: 'X50-0001', model: 'StudioX50', site: 'site-a', customer: 'acme', name: 'Board room' },
    { serial: 'X30-0002', model: 'StudioX30', site: 'site-a', customer: 'acme', name: 'Huddle 2' },
    { serial: 'X30-0009', model: 'StudioX30', site: 'site-a', customer: 'acme', name: 'Old lobby' },
    { serial: 'X70-0003', model: 'StudioX70', site: 'site-b', customer: 'globex', name: 'Exec suite' },
  ],
};

let hub: TestHub;
let browserHandle: Awaited<ReturnType<typeof launchChromium>>;
let browser: Browser;
let portal: Page;
let p3Id: string;

beforeAll(async () => {
  hub = await startTestHub({ config: CONFIG, clock: nightClock, modules: 'all' });
  browserHandle = await launchChromium();
  browser = browserHandle.browser;
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, acceptDownloads: true });
  portal = await phone.newPage();
});

afterAll(async () => {
  await browserHandle?.close();
  await hub?.close();
});

function post(path: string, body: unknown) {
  return hub.api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('portal at night, report, desk form, sign-in', () => {
  it('a P3 raised at night from the portal (phone width) says its clock starts Mon 08:00', async () => {
    await signIn(portal, hub.urls.httpUrl, TEST_ADMIN_TOKEN, { role: 'customer', customer: 'acme' });
    await portal.waitForSelector('[data-testid="room"][data-serial="X50-0001"]');
    const rooms = await portal.locator('[data-testid="room"]').evaluateAll((els) => els.map((e) => e.dataset.serial));
    expect(rooms.sort()).toEqual(['X30-0002', 'X30-0009', 'X50-0001']);
    // Only covered rooms can be picked (X30-0009 has no contract).
    await portal.waitForFunction(() => document.querySelectorAll('[data-testid="raise-serial"] option').length === 3);
    const options = await portal
      .locator('[data-testid="raise-serial"] option')
      .evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
    expect(options).toEqual(['', 'X50-0001', 'X30-0002']);
    // The service text's definitions stand beside the choice.
    expect(await portal.locator('[data-testid="priority-choice"]').textContent()).toContain(
      'Brak dostępu do urządzenia',
    );

    await portal.selectOption('[data-testid="raise-serial"]', 'X30-0002');
    await portal.check('#raise-priority-P3');
    await portal.fill('[data-testid="raise-description"]', 'How do we pair the new laptop?');
    await portal.fill('[data-testid="raise-reporter"]', 'Ewa Kowalska, +48 600 000 000');
    await portal.click('[data-testid="raise-submit"]');
    const result = portal.locator('[data-testid="raise-result"]');
    await portal.waitForFunction(() =>
      document.querySelector('[data-testid="raise-result"]')?.textContent?.startsWith('✓'),
    );
    p3Id = (await result.getAttribute('data-ticket-id'))!;
    expect(p3Id).toMatch(/^HZ-/);

    const clock = portal.locator(`[data-testid="portal-ticket"][data-ticket-id="${p3Id}"] [data-clock="reaction"]`);
    await clock.waitFor({ timeout: 10_000 });
    expect(await clock.getAttribute('data-status')).toBe('waiting');
    expect(await clock.locator('[data-testid="clock-text"]').textContent()).toBe('starts Mon 08:00');
    const unlabelled = await portal.evaluate(
      () =>
        Array.from(document.querySelectorAll('input, select, textarea')).filter(
          (el) => ((el as HTMLInputElement).labels?.length ?? 0) === 0,
        ).length,
    );
    expect(unlabelled).toBe(0);
    // Nothing wider than the phone.
    expect(await portal.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await portal.screenshot({ path: artifactPath('portal-phone.png'), fullPage: true });
  });

  it('the monthly report downloads as CSV with the right counts, and as a printable page', async () => {
    expect(
      (
        await post('/api/tickets', {
          channel: 'phone',
          serial: 'X50-0001',
          contract: 'HZ-2025-0107',
          priority: 'P1',
          reporter: 'Jan',
          description: 'Dark',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await post('/api/tickets', {
          channel: 'email',
          serial: 'X70-0003',
          contract: 'HZ-2026-0240',
          priority: 'P2',
          reporter: 'Eve',
          description: 'Echo',
        })
      ).status,
    ).toBe(201);
    await portal.fill('[data-testid="report-month"]', '2026-11');
    const download = portal.waitForEvent('download');
    await portal.click('[data-testid="report-csv"]');
    const file = await (await download).path();
    const rows = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\r\n')
      .slice(1)
      .map((r) => r.split(','));
    const tickets = rows.filter((r) => r[0] === 'ticket');
    expect(tickets.map((r) => [r[2], r[4]]).sort()).toEqual([
      ['P1', 'X50-0001'],
      ['P3', 'X30-0002'],
    ]);
    const counts = Object.fromEntries(rows.filter((r) => r[0] === 'priority').map((r) => [r[2], Number(r[6])]));
    expect(counts).toEqual({ P1: 1, P2: 0, P3: 1 });
    expect(rows.filter((r) => r[0] === 'room').map((r) => r[4])).toEqual(['X50-0001', 'X30-0002']);

    await portal.click('[data-testid="report-print"]');
    await portal.waitForSelector('[data-testid="report-title"]');
    expect(await portal.locator('[data-testid="report-title"]').textContent()).toBe(
      'ACME Sp. z o.o. - 2026-11 (month in progress)',
    );
    expect(await portal.locator('[data-testid="report-tickets"] tbody tr').count()).toBe(2);
    expect(await portal.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await portal.screenshot({ path: artifactPath('report-phone.png'), fullPage: true });
  });

  it('the desk phone form checks the contract number before sending; the ticket opens with only allowed steps', async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await signIn(page, hub.urls.httpUrl, TEST_ADMIN_TOKEN, { role: 'engineer' });
    // Every control has a label (a wrapping <label>, <label for> or aria-label).
    const unlabelled = await page.evaluate(() =>
      Array.from(document.querySelectorAll('input, select, textarea, button'))
        .filter((el) => {
          const c = el as HTMLInputElement;
          const named =
            (c.labels?.length ?? 0) > 0 ||
            c.getAttribute('aria-label') ||
            (el.tagName === 'BUTTON' && el.textContent?.trim());
          return !named;
        })
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    expect(unlabelled).toEqual([]);
    // Keyboard: Tab reaches the queue, Enter opens the ticket.
    await page.focus('[data-testid="queue-row"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="ticket-page"]');
    await page.click('[data-testid="new-ticket"]');
    await page.selectOption('[data-testid="nt-serial"]', 'X30-0002');
    await page.fill('[data-testid="nt-contract"]', 'HZ-2026-0240');
    expect(await page.locator('[data-testid="nt-contract-check"]').textContent()).toBe(
      '✖ HZ-2026-0240 is not the contract of X30-0002.',
    );
    await page.fill('[data-testid="nt-reporter"]', 'Piotr, +48 600 111 222');
    await page.fill('[data-testid="nt-description"]', 'No sound in calls');
    await page.check('#nt-priority-P2');
    await page.click('[data-testid="nt-submit"]');
    expect(await page.locator('[data-testid="nt-error"]').textContent()).toContain('is not the contract');
    await page.fill('[data-testid="nt-contract"]', 'HZ-2025-0107');
    expect(await page.locator('[data-testid="nt-contract-check"]').textContent()).toBe(
      '✓ HZ-2025-0107 covers Huddle 2',
    );
    await page.click('[data-testid="nt-submit"]');
    const ticket = page.locator('[data-testid="ticket-page"][data-state="open"]');
    await ticket.waitFor({ timeout: 10_000 });
    expect(
      await ticket.locator('[data-testid="transition"]').evaluateAll((els) => els.map((e) => e.dataset.to)),
    ).toEqual(['acknowledged']);
    // P2 sent on Saturday night: waiting for Monday's opening, and it says so.
    expect(await ticket.locator('[data-clock="reaction"] [data-testid="clock-text"]').textContent()).toBe(
      'starts Mon 08:00',
    );
    // The P3 from the portal is in the queue too, both sorted after the running P1.
    const order = await page
      .locator('[data-testid="queue-row"]')
      .evaluateAll((els) => els.map((e) => e.dataset.priority));
    expect(order[0]).toBe('P1');
    await page.screenshot({ path: artifactPath('desk-1366.png') });
    // Engineers get the same report for any customer.
    await page.click('[data-testid="reports"]');
    await page.selectOption('[data-testid="rp-customer"]', 'globex');
    await page.fill('[data-testid="rp-month"]', '2026-11');
    const download = page.waitForEvent('download');
    await page.click('[data-testid="rp-csv"]');
    const globexCsv = readFileSync(await (await download).path(), 'utf8');
    expect(
      globexCsv
        .split('\r\n')
        .filter((r) => r.startsWith('ticket,'))
        .map((r) => r.split(',')[4]),
    ).toEqual(['X70-0003']);
    // Filters: priority, and SLA "paused / not started" (the two sent at night, not the running P1).
    const shown = (attr: string) =>
      page.locator('[data-testid="queue-row"]').evaluateAll((els, a) => els.map((e) => e.getAttribute(a)), attr);
    await page.selectOption('[data-testid="f-priority"]', 'P3');
    expect(await shown('data-priority')).toEqual(['P3']);
    await page.selectOption('[data-testid="f-priority"]', '');
    await page.selectOption('[data-testid="f-sla"]', 'paused');
    expect((await shown('data-priority')).sort()).toEqual(['P2', 'P2', 'P3']);
    await page.selectOption('[data-testid="f-customer"]', 'globex');
    expect(await shown('data-serial')).toEqual(['X70-0003']);
    await page.close();
  });

  it('sign-in page, / without a token, and an expired session going back to sign-in', async () => {
    const page = await browser.newPage();
    await page.goto(`${hub.urls.httpUrl}/`);
    expect(new URL(page.url()).pathname).toBe('/signin');
    expect(await page.getByLabel('User name').count()).toBe(1);
    expect(await page.getByLabel('Password').count()).toBe(1);
    // A token the hub does not know: the first API call answers 401 and the page goes back to sign-in, saying why.
    await page.goto(`${hub.urls.httpUrl}/desk/?token=not-a-valid-token-000000`);
    await page.waitForURL(/\/signin\?expired=1/);
    expect(await page.locator('[data-testid="signin-message"]').textContent()).toBe(
      'Your session expired. Sign in again to continue.',
    );
    const csp = (await fetch(`${hub.urls.httpUrl}/desk/`)).headers.get('content-security-policy');
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await page.close();
  });
});
