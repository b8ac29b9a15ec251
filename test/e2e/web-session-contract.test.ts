/**
 * The pages' one API client (dashboards/web/api-client.js) on the REAL hub's sessions (issue 14): users created on
 * the hub sign in through the /signin form; each role lands on its page (`/` sends a signed-in person straight
 * there); writes carry the session cookie and `x-csrf-token` (and the hub refuses a write without it); a session
 * ended on the hub sends the page back to sign-in saying so; sign-out ends it; `/api/calendars` names only the
 * caller's customers.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.ts';
import { startTestHub, TEST_ADMIN_TOKEN, type TestHub } from '../helpers/hub-fixture.ts';
import { createWebUser, signInForm, type WebUser } from '../helpers/web-signin.ts';

const CONFIG = {
  customers: [
    { id: 'acme', name: 'ACME Sp. z o.o.' },
    { id: 'globex', name: 'Globex Polska S.A.' },
  ],
  contracts: [{ number: 'HZ-2025-0107', customer: 'acme', start: '2025-02-01', termYears: 3, serials: ['X50-0001'] }],
  devices: [
    { serial: 'X50-0001', model: 'StudioX50', site: 'site-a', customer: 'acme', name: 'Board room' },
    { serial: 'X70-0003', model: 'StudioX70', site: 'site-b', customer: 'globex', name: 'Exec suite' },
  ],
};

let hub: TestHub;
let base: string;
let browserHandle: Awaited<ReturnType<typeof launchChromium>>;
let browser: Browser;
let engineer: WebUser;
let rep: WebUser;

beforeAll(async () => {
  hub = await startTestHub({ config: CONFIG, modules: 'all' });
  base = hub.urls.httpUrl;
  engineer = await createWebUser(base, TEST_ADMIN_TOKEN, { role: 'engineer' });
  rep = await createWebUser(base, TEST_ADMIN_TOKEN, { role: 'customer', customer: 'acme' });
  browserHandle = await launchChromium();
  browser = browserHandle.browser;
});

afterAll(async () => {
  await browserHandle?.close();
  await hub?.close();
});

async function newPage(): Promise<Page> {
  return (await browser.newContext()).newPage();
}

async function sessionCookie(page: Page): Promise<string> {
  const c = (await page.context().cookies(base)).find((x) => x.name === 'hezo_session');
  expect(c?.httpOnly).toBe(true);
  return `${c!.name}=${c!.value}`;
}

describe('pages on the hub sessions', () => {
  it('a wrong password says so and stays on the sign-in page', async () => {
    const page = await newPage();
    await page.goto(`${base}/`);
    await page.waitForURL(`${base}/signin`);
    await page.getByLabel('User name').fill(engineer.name);
    await page.getByLabel('Password').fill('wrong-password-0');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('[data-testid="signin-error"]:not([hidden])');
    expect(await page.locator('[data-testid="signin-error"]').textContent()).toBe('User name or password is wrong.');
    expect(new URL(page.url()).pathname).toBe('/signin');
    await page.context().close();
  });

  it('an engineer lands on the desk; writes carry the cookie and x-csrf-token; a session ended on the hub goes back to sign-in', async () => {
    const page = await newPage();
    await signInForm(page, base, engineer);
    expect(await page.locator('[data-testid="who"]').textContent()).toContain(engineer.name);
    // A write from the page: the cookie goes along by itself, the CSRF token of the session in the header.
    const sent = page.waitForRequest((r) => r.url().endsWith('/api/tickets') && r.method() === 'POST');
    const answer = await page.evaluate(() =>
      window.HezoApi.post('/api/tickets', {}).then(
        () => 200,
        (e: { status: number }) => e.status,
      ),
    );
    const headers = await (await sent).allHeaders();
    expect(headers['x-csrf-token']).toMatch(/.{16,}/);
    expect(headers.cookie).toContain('hezo_session=');
    expect(answer).toBe(400); // an empty body: the hub read the write (signed in, CSRF accepted) and refused the body
    // The same write without the CSRF header: the hub refuses it.
    const bare = await page.evaluate(async () => (await fetch('/api/tickets', { method: 'POST', body: '{}' })).status);
    expect(bare).toBe(403);

    // `/` sends a signed-in engineer straight to the desk (one redirect, not via /signin).
    const root = await fetch(`${base}/`, { headers: { cookie: await sessionCookie(page) }, redirect: 'manual' });
    expect(root.headers.get('location')).toBe('/desk/');

    // The session ends on the hub: the next call answers 401 and the page goes back to sign-in, saying why.
    const ended = await fetch(`${base}/api/session`, {
      method: 'DELETE',
      headers: { cookie: await sessionCookie(page) },
    });
    expect(ended.status).toBe(204);
    void page.evaluate(() => window.HezoApi.get('/api/tickets').catch(() => undefined));
    await page.waitForURL(/\/signin\?expired=1/);
    expect(await page.locator('[data-testid="signin-message"]').textContent()).toBe(
      'Your session expired. Sign in again to continue.',
    );
    // Signed in again, the session ends while the tab is away: opening the desk again says it expired too.
    await signInForm(page, base, engineer);
    await fetch(`${base}/api/session`, { method: 'DELETE', headers: { cookie: await sessionCookie(page) } });
    await page.goto(`${base}/desk/`);
    await page.waitForURL(/\/signin\?expired=1/);
    await page.context().close();
  });

  it('a customer lands on the portal, sees only its calendar; /, /signin and /desk/ send it to the portal; sign-out ends it', async () => {
    const page = await newPage();
    await signInForm(page, base, rep);
    const cals = await page.evaluate(() => window.HezoApi.get('/api/calendars'));
    expect((cals as { customers: { customer: string }[] }).customers.map((c) => c.customer)).toEqual(['acme']);
    await page.goto(`${base}/`);
    await page.waitForURL(`${base}/portal/`);
    await page.goto(`${base}/signin`);
    await page.waitForURL(`${base}/portal/`);
    await page.goto(`${base}/desk/`);
    await page.waitForURL(`${base}/portal/`);
    const cookie = await sessionCookie(page);
    await page.waitForSelector('body[data-stream="live"]');
    await page.click('[data-testid="sign-out"]');
    await page.waitForURL(/\/signin\?signedOut=1/);
    expect(await page.locator('[data-testid="signin-message"]').textContent()).toBe('You are signed out.');
    // The hub ended the session: the old cookie no longer works.
    expect((await fetch(`${base}/api/session`, { headers: { cookie } })).status).toBe(401);
    await page.context().close();
  });
});
