/**
 * Issue 14: every route registered on the hub (read from fastify's route table through the access control's
 * onRoute hook, so a route added later is walked too) x every role: allowed or 403, never 401 with a valid token;
 * a customer asking for another customer's thing gets 404. A route that declares no access fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../hub/people/roles.ts';
import { type PeopleHub, startPeopleHub } from '../helpers/people-fixture.ts';

/** Written out here, not imported: the test states the rules the code must follow. */
const MAY_CALL: Record<string, readonly Role[]> = {
  read: ['admin', 'engineer', 'customer', 'wall'],
  internal: ['admin', 'engineer', 'wall'],
  customer: ['admin', 'engineer', 'customer'],
  engineer: ['admin', 'engineer'],
  admin: ['admin'],
};

/** Routes whose level must not drift. */
const MUST_BE: Record<string, string> = {
  'GET /healthz': 'public',
  'POST /api/session': 'public',
  'GET /api/audit': 'admin',
  'GET /api/users': 'admin',
  'POST /api/users': 'admin',
  'PATCH /api/users/:name': 'admin',
  'DELETE /api/users/:name': 'admin',
  'POST /api/contracts': 'admin',
  'PUT /api/devices/:serial': 'admin',
  'POST /api/tickets/:id/transitions': 'engineer',
  'POST /api/tickets/:id/contacts': 'engineer',
  'GET /metrics': 'internal',
  'GET /api/tickets': 'read',
  'GET /api/devices': 'read',
};

let h: PeopleHub;
let globexTicket: string;

beforeAll(async () => {
  h = await startPeopleHub();
  const opened = await h.json('/api/tickets', {
    method: 'POST',
    body: {
      channel: 'phone',
      serial: 'GLOBEX-0001',
      contract: 'C-GLOBEX',
      priority: 'P3',
      reporter: 'G',
      description: 'x',
    },
  });
  expect(opened.status).toBe(201);
  globexTicket = opened.body.id;
});
afterAll(async () => h?.close());

/** Ids of globex's things (a customer must get 404); staff deleting get ids that do not exist (fixtures stay). */
function fill(url: string, isDestructive = false): string {
  return url.replace(/:(\w+)/g, (_m, name: string) => {
    if (isDestructive) return `no-such-${name}`;
    if (name === 'serial') return 'GLOBEX-0001';
    if (name === 'number') return 'C-GLOBEX';
    if (name === 'file') return 'index.html';
    if (name === 'id') return url.startsWith('/api/tickets/') ? globexTicket : 'no-such-id';
    return `no-such-${name}`;
  });
}

describe('route x role matrix', () => {
  it('every registered route declares its access (none is left to the admin-only default)', () => {
    const routes = h.people.access.routes();
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.filter((r) => r.access === undefined).map((r) => `${r.method} ${r.url}`)).toEqual([]);
    for (const [key, level] of Object.entries(MUST_BE)) {
      const route = routes.find((r) => `${r.method} ${r.url}` === key);
      expect(route, key).toBeDefined();
      expect(`${key} ${route?.access}`).toBe(`${key} ${level}`);
    }
  });

  it('walks every route with each role: allowed or 403; other customers` things are 404 for a customer', async () => {
    const routes = h.people.access.routes().filter((r) => r.url !== '*' && r.method !== 'OPTIONS');
    const failures: string[] = [];
    for (const route of routes) {
      const path = fill(route.url);
      const staffPath = fill(route.url, route.method === 'DELETE');
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : {};
      // No credentials: only public routes answer something else than 401.
      const anon = await h.json(path, { method: route.method, body, token: null });
      if (route.access !== 'public' && anon.status !== 401)
        failures.push(`anonymous ${route.method} ${path}: ${anon.status}`);
      if (route.access === 'public') continue;
      for (const role of ['customer', 'wall', 'engineer', 'admin'] as const) {
        const target = role === 'customer' ? path : staffPath;
        const res = await h.json(target, { method: route.method, body, token: h.tokens[role] });
        const isReadOnlyDenied = role === 'wall' && route.method !== 'GET' && route.method !== 'HEAD';
        const isAllowed = !isReadOnlyDenied && (MAY_CALL[route.access ?? 'admin'] ?? []).includes(role);
        const where = `${role} ${route.method} ${path} (${route.access}): ${res.status}`;
        if (res.status === 401) failures.push(`${where} unauthenticated with a valid token`);
        else if (!isAllowed && res.status !== 403) failures.push(`${where} expected 403`);
        else if (isAllowed && res.status === 403) failures.push(`${where} expected allowed`);
        else if (isAllowed && role === 'customer' && route.url.includes(':') && res.status !== 404)
          failures.push(`${where} expected 404 for another customer's thing`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('a customer sees only its own customer in every list, and 404 for a single thing of another', async () => {
    const acme = await h.json('/api/tickets', {
      method: 'POST',
      token: h.tokens.customer,
      body: {
        channel: 'portal',
        serial: 'ACME-0001',
        contract: 'C-ACME',
        priority: 'P3',
        reporter: 'A',
        description: 'x',
      },
    });
    expect(acme.status).toBe(201);
    expect(acme.body.customer).toBe('acme');
    for (const path of [
      '/api/devices',
      '/api/tickets?state=all',
      '/api/contracts',
      '/api/site-alerts',
      '/api/contracts/expiring?days=3650',
    ]) {
      const all = await h.json(path);
      const mine = await h.json(path, { token: h.tokens.customer });
      expect(mine.status, path).toBe(200);
      expect(JSON.stringify(mine.body), path).not.toContain('globex');
      expect(JSON.stringify(mine.body), path).not.toContain('GLOBEX');
      if (path !== '/api/site-alerts') expect(JSON.stringify(all.body), path).toContain('globex');
    }
    const devices = await h.json('/api/devices', { token: h.tokens.customer });
    expect(devices.body.map((d: { serial: string }) => d.serial).sort()).toEqual(['ACME-0001', 'ACME-0002']);
    expect((await h.json('/api/devices/ACME-0001', { token: h.tokens.customer })).status).toBe(200);
    expect((await h.json('/api/devices/GLOBEX-0001', { token: h.tokens.customer })).status).toBe(404);
    expect((await h.json(`/api/tickets/${acme.body.id}`, { token: h.tokens.customer })).status).toBe(200);
    const other = await h.json(`/api/tickets/${globexTicket}`, { token: h.tokens.customer });
    expect(other).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    // Raising a ticket on another customer's device answers as if the device did not exist.
    const foreign = await h.json('/api/tickets', {
      method: 'POST',
      token: h.tokens.customer,
      body: {
        channel: 'portal',
        serial: 'GLOBEX-0001',
        contract: 'C-GLOBEX',
        priority: 'P3',
        reporter: 'A',
        description: 'x',
      },
    });
    expect(foreign.status).toBe(404);
  });

  it('a route added without an access declaration is admin-only', async () => {
    const { startTestHub } = await import('../helpers/hub-fixture.ts');
    const bare = await startTestHub({
      modules: [
        (ctx) => {
          ctx.http.get('/api/forgotten', async () => ({ secret: 'x' }));
          return { name: 'forgotten' };
        },
      ],
    });
    try {
      const people = bare.hub.ctx.services.people as PeopleHub['people'];
      expect(people.access.routes().find((r) => r.url === '/api/forgotten')?.access).toBeUndefined();
      expect((await bare.api('/api/forgotten', { token: 'test-read-token-0123456789ab' })).status).toBe(403);
      expect((await bare.api('/api/forgotten')).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});
