/** Issue 14: `/api/openapi.json` describes exactly the routes fastify serves (read from the route table), with access levels and request schemas. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPath } from '../../hub/people/openapi.ts';
import { type PeopleHub, startPeopleHub } from '../helpers/people-fixture.ts';

let h: PeopleHub;
beforeAll(async () => {
  h = await startPeopleHub();
});
afterAll(async () => h?.close());

describe('OpenAPI', () => {
  it('has one operation per route and no other, each with its access level', async () => {
    const res = await h.json('/api/openapi.json', { token: h.tokens.wall });
    expect(res.status).toBe(200);
    const spec = res.body;
    expect(spec.openapi).toBe('3.1.0');
    const routes = h.people.access.routes().filter((r) => r.url !== '*' && r.method !== 'OPTIONS');
    const fromRoutes = routes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`).sort();
    const fromSpec = Object.entries(spec.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
      .sort();
    expect(fromSpec).toEqual(fromRoutes);
    for (const r of routes) {
      const op = spec.paths[openApiPath(r.url)][r.method.toLowerCase()];
      expect(op['x-access'], `${r.method} ${r.url}`).toBe(r.access);
      const names = op.parameters.filter((p: { in: string }) => p.in === 'path').map((p: { name: string }) => p.name);
      expect(names).toEqual([...r.url.matchAll(/:(\w+)/g)].map((m) => m[1]));
    }
    const addUser = spec.paths['/api/users'].post.requestBody.content['application/json'].schema;
    expect(addUser.required).toEqual(expect.arrayContaining(['name', 'role', 'password']));
    expect(spec.paths['/api/session'].post.security).toEqual([]);
    expect(spec.paths['/api/tickets'].get.parameters.map((p: { name: string }) => p.name)).toContain('state');
    // Every write route a person uses documents its body.
    for (const key of [
      'post /api/tickets',
      'post /api/tickets/{id}/transitions',
      'post /api/tickets/{id}/notes',
      'post /api/devices',
      'post /api/agents',
    ]) {
      const [method, path] = key.split(' ') as [string, string];
      expect(spec.paths[path][method].requestBody, key).toBeDefined();
    }
    // The ticket routes document (and serialise with) their response schemas.
    expect(spec.paths['/api/tickets'].get.responses['200']).toMatchObject({ type: 'array', items: { type: 'object' } });
    expect(spec.paths['/api/tickets/{id}'].get.responses['200'].properties.history.type).toBe('array');
    expect(spec.paths['/api/tickets'].post.responses['201'].required).toContain('sla');
    expect(Object.keys(spec.paths['/api/tickets/{id}/transitions'].post.responses['4xx'].properties)).toEqual([
      'error',
      'code',
    ]);
  });

  it('needs credentials', async () => {
    expect((await h.json('/api/openapi.json', { token: null })).status).toBe(401);
  });
});

describe('zod request schemas used by fastify', () => {
  it('validates before the handler, applies defaults, answers the one error model, and documents the schema', async () => {
    const { z } = await import('zod');
    const { startTestHub } = await import('../helpers/hub-fixture.ts');
    const probe = await startTestHub({
      modules: [
        (ctx) => {
          ctx.http.post(
            '/api/probe',
            { config: { access: 'admin', zod: { body: z.strictObject({ n: z.number().int().default(1) }) } } },
            async (request) => request.body,
          );
          return { name: 'probe' };
        },
      ],
    });
    try {
      const post = async (body: unknown) => {
        const res = await probe.api('/api/probe', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: await res.json() };
      };
      expect(await post({})).toEqual({ status: 200, body: { n: 1 } });
      expect(await post({ n: 'x' })).toMatchObject({
        status: 400,
        body: { code: 'PAYLOAD_INVALID', error: expect.stringMatching(/^body: n: /) },
      });
      expect((await post({ n: 2, extra: true })).body.error).toMatch(/extra: unknown field/);
      const spec = await (await probe.api('/api/openapi.json')).json();
      expect(spec.paths['/api/probe'].post.requestBody.content['application/json'].schema.properties.n).toMatchObject({
        type: 'integer',
      });
    } finally {
      await probe.close();
    }
  });
});
