/**
 * Issue 14 sign-in contract (the desk and portal pages build on it): cookie flags, CSRF on cookie writes,
 * Bearer tokens without CSRF, expiry -> 401 UNAUTHENTICATED, per-account and per-address lockout, personal tokens
 * shown once and revocable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_TTL_MS } from '../../hub/people/session-routes.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { PEOPLE_PASSWORD, type PeopleHub, startPeopleHub } from '../helpers/people-fixture.ts';

let h: PeopleHub | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function cookieOf(headers: Headers): string {
  const set = headers.get('set-cookie') ?? '';
  return set.split(';')[0] ?? '';
}

describe('sessions', () => {
  it('signs in with a cookie + CSRF token; writes need x-csrf-token; sign-out ends it', async () => {
    h = await startPeopleHub();
    const res = await h.json('/api/session', {
      method: 'POST',
      token: null,
      body: { user: 'acme-rep', password: PEOPLE_PASSWORD },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      csrfToken: expect.any(String),
      user: { name: 'acme-rep', role: 'customer', customer: 'acme' },
    });
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^hezo_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(setCookie).not.toContain('Secure'); // plain HTTP here; Secure over TLS
    const cookie = cookieOf(res.headers);
    const csrf = res.body.csrfToken as string;

    const me = await h.json('/api/session', { token: null, headers: { cookie } });
    expect(me).toMatchObject({ status: 200, body: { csrfToken: csrf, user: { name: 'acme-rep' } } });
    const devices = await h.json('/api/devices', { token: null, headers: { cookie } });
    expect(devices.body.map((d: { serial: string }) => d.serial).sort()).toEqual(['ACME-0001', 'ACME-0002']);

    const ticket = {
      channel: 'portal',
      serial: 'ACME-0001',
      contract: 'C-ACME',
      priority: 'P3',
      reporter: 'A',
      description: 'no picture',
    };
    const noCsrf = await h.json('/api/tickets', { method: 'POST', token: null, headers: { cookie }, body: ticket });
    expect(noCsrf).toMatchObject({ status: 403, body: { code: 'CSRF_INVALID' } });
    const wrongCsrf = await h.json('/api/tickets', {
      method: 'POST',
      token: null,
      headers: { cookie, 'x-csrf-token': 'nope' },
      body: ticket,
    });
    expect(wrongCsrf.status).toBe(403);
    const ok = await h.json('/api/tickets', {
      method: 'POST',
      token: null,
      headers: { cookie, 'x-csrf-token': csrf },
      body: ticket,
    });
    expect(ok.status).toBe(201);
    expect(ok.body.history[0].actor).toBe('acme-rep');
    // A Bearer token needs no CSRF token.
    const bearer = await h.json('/api/tickets', { method: 'POST', token: h.tokens.customer, body: ticket });
    expect(bearer.status).toBe(201);

    const out = await h.json('/api/session', { method: 'DELETE', token: null, headers: { cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    const after = await h.json('/api/session', { token: null, headers: { cookie } });
    expect(after).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect((await h.json('/api/session', { token: null })).status).toBe(401);
  });

  it('an expired session answers 401 UNAUTHENTICATED', async () => {
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    h = await startPeopleHub({ clock });
    const res = await h.json('/api/session', {
      method: 'POST',
      token: null,
      body: { user: 'eric-engineer', password: PEOPLE_PASSWORD },
    });
    const cookie = cookieOf(res.headers);
    expect((await h.json('/api/tickets', { token: null, headers: { cookie } })).status).toBe(200);
    clock.advance(SESSION_TTL_MS);
    const expired = await h.json('/api/tickets', { token: null, headers: { cookie } });
    expect(expired).toMatchObject({
      status: 401,
      body: { code: 'UNAUTHENTICATED', error: expect.stringMatching(/expired/) },
    });
  });

  it('locks an account after 5 failures (even the right password then), and an address after 20', async () => {
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    h = await startPeopleHub({ clock });
    const signIn = (user: string, password: string) =>
      h!.json('/api/session', { method: 'POST', token: null, body: { user, password } });
    for (let i = 0; i < 5; i += 1) expect((await signIn('eric-engineer', 'wrong-password')).status).toBe(401);
    const locked = await signIn('eric-engineer', PEOPLE_PASSWORD);
    expect(locked).toMatchObject({ status: 429, body: { code: 'TOO_MANY_ATTEMPTS' } });
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another account from the same address still works (per-address limit not reached yet).
    expect((await signIn('alice-admin', PEOPLE_PASSWORD)).status).toBe(200);
    // Unknown names count against the address: 20 failures lock it for everyone.
    for (let i = 0; i < 15; i += 1) expect((await signIn(`nobody-${i}`, 'x')).status).toBe(401);
    expect((await signIn('alice-admin', PEOPLE_PASSWORD)).status).toBe(429);
    clock.advance(15 * 60_000);
    expect((await signIn('eric-engineer', PEOPLE_PASSWORD)).status).toBe(200);
    // Failed sign-ins are audited with the address, never the password.
    const audit = await h.json('/api/audit?action=session.sign-in-failed&limit=100');
    expect(audit.body.length).toBe(20);
    expect(audit.body[0]).toMatchObject({ actor: { name: 'eric-engineer' }, address: '127.0.0.1' });
    expect(JSON.stringify(audit.body)).not.toContain('wrong-password');
  });
});

describe('personal tokens', () => {
  it('are shown once, carry the owner`s role and scope, and stop working when revoked', async () => {
    h = await startPeopleHub();
    const created = await h.json('/api/tokens', {
      method: 'POST',
      token: h.tokens.customer,
      body: { label: 'script' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ user: 'acme-rep', label: 'script', token: expect.stringMatching(/^hzt_/) });
    const token = created.body.token as string;
    const list = await h.json('/api/tokens', { token });
    expect(list.body.every((t: { user: string }) => t.user === 'acme-rep')).toBe(true);
    expect(JSON.stringify(list.body)).not.toContain(token.slice(-20));
    const stored = (await h.people.store.tokens()).find((t) => t.id === created.body.id);
    expect(JSON.stringify(stored)).not.toContain(token.slice(-20));
    const devices = await h.json('/api/devices', { token });
    expect(devices.body.map((d: { customer: string }) => d.customer)).toEqual(['acme', 'acme']);
    expect((await h.json('/api/audit', { token })).status).toBe(403);
    // A customer may not mint tokens for someone else.
    expect((await h.json('/api/tokens', { method: 'POST', token, body: { user: 'alice-admin' } })).status).toBe(403);
    expect(
      (await h.json(`/api/tokens/${created.body.id}`, { method: 'DELETE', token: h.tokens.customer })).status,
    ).toBe(204);
    expect(await h.json('/api/devices', { token })).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
  });

  it('users: 409 on a duplicate name, a customer user needs an existing customer', async () => {
    h = await startPeopleHub();
    const add = (body: unknown) => h!.json('/api/users', { method: 'POST', body });
    expect((await add({ name: 'jan', role: 'engineer', password: 'long-enough-pw' })).status).toBe(201);
    expect(await add({ name: 'jan', role: 'engineer', password: 'long-enough-pw' })).toMatchObject({
      status: 409,
      body: { code: 'DUPLICATE_KEY' },
    });
    expect(await add({ name: 'rep', role: 'customer', customer: 'nobody', password: 'long-enough-pw' })).toMatchObject({
      status: 422,
      body: { code: 'REFERENCE_INVALID' },
    });
    expect((await add({ name: 'rep', role: 'customer', password: 'long-enough-pw' })).status).toBe(400);
    expect((await add({ name: 'rep', role: 'engineer', password: 'short' })).body.error).toMatch(/password/);
    const users = await h.json('/api/users');
    expect(JSON.stringify(users.body)).not.toMatch(/scrypt|password/);
  });
});
