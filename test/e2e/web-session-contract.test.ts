/**
 * The pages' one API client (dashboards/web/api-client.js) against the session contract of issue 14, before the
 * hub has it: a stub serves `POST/GET/DELETE /api/session` (HttpOnly cookie + csrfToken) and one ticket route that
 * wants the cookie and, for writes, `x-csrf-token`. Sign-in sends each role to its page, writes carry the CSRF
 * token, an expired session goes back to sign-in saying so, sign-out ends the session.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPagesModule } from '../../hub/web/pages-module.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { makeFakeHubContext } from '../helpers/fake-hub-context.ts';

const USERS: Record<string, { password: string; role: string; customer?: string }> = {
  eng: { password: 'eng-password-1', role: 'engineer' },
  rep: { password: 'rep-password-1', role: 'customer', customer: 'acme' },
};

let http: FastifyInstance;
let base: string;
let browserHandle: Awaited<ReturnType<typeof launchChromium>>;
let browser: Browser;
const sessions = new Map<string, { user: string; csrf: string }>();
const writes: { csrf: string | undefined; cookie: boolean }[] = [];
let deleted = 0;

function sessionOf(cookie: string | undefined) {
  const id = /(?:^|;\s*)hezo_session=([^;]+)/.exec(cookie ?? '')?.[1];
  return id === undefined ? undefined : sessions.get(id);
}

function body(user: string, csrf: string) {
  const u = USERS[user]!;
  return { csrfToken: csrf, user: { name: user, role: u.role, ...(u.customer ? { customer: u.customer } : {}) } };
}

beforeAll(async () => {
  http = Fastify({ logger: false });
  const fake = makeFakeHubContext({ http });
  createPagesModule(fake.ctx);
  http.post<{ Body: { user: string; password: string } }>('/api/session', async (req, reply) => {
    const u = USERS[req.body.user];
    if (u === undefined || u.password !== req.body.password) return reply.code(401).send({ code: 'UNAUTHENTICATED' });
    const id = `s-${sessions.size + 1}`;
    const csrf = `csrf-${id}`;
    sessions.set(id, { user: req.body.user, csrf });
    reply.header('set-cookie', `hezo_session=${id}; HttpOnly; Path=/; SameSite=Strict`);
    return body(req.body.user, csrf);
  });
  http.get('/api/session', async (req, reply) => {
    const s = sessionOf(req.headers.cookie);
    return s === undefined ? reply.code(401).send({ code: 'UNAUTHENTICATED' }) : body(s.user, s.csrf);
  });
  http.delete('/api/session', async (req, reply) => {
    deleted++;
    const id = /hezo_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (id !== undefined) sessions.delete(id);
    return reply.code(204).send();
  });
  http.get('/api/tickets/:id', async (req, reply) => {
    const s = sessionOf(req.headers.cookie);
    if (s === undefined) return reply.code(401).send({ code: 'UNAUTHENTICATED', error: 'session expired' });
    return reply.code(404).send({ error: 'no such ticket' });
  });
  http.post('/api/tickets', async (req, reply) => {
    const s = sessionOf(req.headers.cookie);
    writes.push({ csrf: req.headers['x-csrf-token'] as string | undefined, cookie: s !== undefined });
    if (s === undefined) return reply.code(401).send({ code: 'UNAUTHENTICATED' });
    if (req.headers['x-csrf-token'] !== s.csrf) return reply.code(403).send({ error: 'csrf' });
    return reply.code(422).send({ error: 'contract: stub' });
  });
  await http.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}`;
  browserHandle = await launchChromium();
  browser = browserHandle.browser;
});

afterAll(async () => {
  await browserHandle?.close();
  await http?.close();
});

async function signInForm(user: string, password: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.waitForURL(`${base}/signin`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return page;
}

describe('pages against the session contract', () => {
  it('a wrong password says so and stays on the sign-in page', async () => {
    const page = await signInForm('eng', 'wrong-password');
    await page.waitForSelector('[data-testid="signin-error"]:not([hidden])');
    expect(await page.locator('[data-testid="signin-error"]').textContent()).toBe('User name or password is wrong.');
    await page.context().close();
  });

  it('an engineer lands on the desk; writes carry the cookie and x-csrf-token; expiry goes back to sign-in', async () => {
    const page = await signInForm('eng', 'eng-password-1');
    await page.waitForURL(`${base}/desk/`);
    await page.waitForSelector('[data-testid="who"]:text("eng (engineer)")');
    // A write: the phone form posts with the CSRF token of the session.
    await page.evaluate(() => window.HezoApi.post('/api/tickets', {}).catch(() => undefined));
    const current = [...sessions.values()].at(-1)!;
    expect(writes.at(-1)).toEqual({ csrf: current.csrf, cookie: true });
    // The session ends on the hub: the next call answers 401 and the page goes back to sign-in, saying why.
    sessions.clear();
    await page.goto(`${base}/desk/#/ticket/HZ-000001`);
    await page.waitForURL(/\/signin\?expired=1/);
    expect(await page.locator('[data-testid="signin-message"]').textContent()).toBe(
      'Your session expired. Sign in again to continue.',
    );
    await page.context().close();
  });

  it('a customer lands on the portal; a signed-in person at /signin goes on to their page; sign-out ends it', async () => {
    const page = await signInForm('rep', 'rep-password-1');
    await page.waitForURL(`${base}/portal/`);
    await page.goto(`${base}/signin`);
    await page.waitForURL(`${base}/portal/`);
    // The desk is not a customer's page: back to the portal.
    await page.goto(`${base}/desk/`);
    await page.waitForURL(`${base}/portal/`);
    const before = deleted;
    await page.click('[data-testid="sign-out"]');
    await page.waitForURL(/\/signin\?signedOut=1/);
    expect(deleted).toBe(before + 1);
    expect(await page.locator('[data-testid="signin-message"]').textContent()).toBe('You are signed out.');
    await page.context().close();
  });
});

declare global {
  interface Window {
    HezoApi: { post(path: string, body: unknown): Promise<unknown> };
  }
}
