/**
 * Attack family: hostile input shapes (issue 13): JSON nested 100,000 deep on HTTP and MQTT, control characters
 * and bidi overrides in free text, and requests without a token on the new routes. Real hub.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub, TEST_AGENTS, type TestHub } from '../helpers/hub-fixture.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent } from '../helpers/wait-for.ts';

const [A1] = TEST_AGENTS;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function hub(): Promise<TestHub> {
  const t = await startTestHub({ modules: 'all' });
  cleanups.push(() => t.close());
  return t;
}

const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

function post(t: TestHub, path: string, body: string, token?: string | null) {
  return t.api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    ...(token !== undefined ? { token } : {}),
  });
}

describe('deep JSON and control characters', () => {
  it('HTTP: a body nested 100,000 deep is a 400 PAYLOAD_INVALID naming the depth, not a 500', async () => {
    const t = await hub();
    for (const path of ['/api/tickets', '/api/contracts', '/api/maintenance', '/api/devices/pending/SN-1/adopt']) {
      const res = await post(t, path, `{"customer":${deep(100_000)}}`);
      expect(res.status, path).toBe(400);
      const body = (await res.json()) as { error: string; code: string };
      expect(body.code).toBe('PAYLOAD_INVALID');
      expect(body.error).toMatch(/^body: customer(\[0\])+: nested deeper than 32 levels$/);
    }
  });

  it('MQTT: a payload nested deep is rejected as PAYLOAD_INVALID (counted), never INTERNAL', async () => {
    const t = await hub();
    const agent = await connectAgent(t.urls.mqttUrl, { agentId: A1.id, site: A1.site, password: A1.password });
    cleanups.push(() => agent.close());
    const record = JSON.stringify(makeHealthRecord({ agentId: A1.id, site: A1.site, serial: 'SN-1' }));
    // 30,000 levels fit the 64 KB health limit.
    const payload = record.replace('"evidence":[]', `"evidence":${deep(30_000)}`);
    const rejected = nextBusEvent(t.hub.ctx.bus, 'rejected');
    await agent.raw(topics.health(A1.site, A1.id, 'SN-1'), payload);
    expect((await rejected).reason).toBe('PAYLOAD_INVALID');
    expect(await t.metric('hezo_messages_rejected_total', { reason: 'INTERNAL' })).toBe(0);
  });

  it('control characters and bidi overrides in free text are refused with a 400 naming the field', async () => {
    const t = await hub();
    const cases: Array<[string, string]> = [
      ['bell \u0007', 'U+0007'],
      ['escape \u001b[31m red', 'U+001B'],
      ['invoice \u202egnp.exe', 'U+202E'],
      ['isolate \u2066x\u2069', 'U+2066'],
      ['nul \u0000', 'U+0000'],
    ];
    for (const [text, char] of cases) {
      const res = await post(
        t,
        '/api/maintenance',
        JSON.stringify({ site: 'site-a', from: '2030-01-01T00:00:00Z', to: '2030-01-02T00:00:00Z', reason: text }),
      );
      expect(res.status, text).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe(
        `body: reason: control character ${char} not allowed (only newline and tab)`,
      );
    }
    const fine = await post(
      t,
      '/api/maintenance',
      JSON.stringify({ site: 'site-a', from: '2030-01-01T00:00:00Z', to: '2030-01-02T00:00:00Z', reason: 'a\n\tb ż' }),
    );
    expect(fine.status).toBe(201);
    const query = await t.api('/api/tickets?state=%07open');
    expect(query.status).toBe(400);
    expect(((await query.json()) as { error: string }).error).toMatch(/^query: state: control character U\+0007/);
  });

  it('the adoption routes need the admin token (401 without, 403 read-only)', async () => {
    const t = await hub();
    expect((await t.api('/api/devices/pending', { token: null })).status).toBe(401);
    expect((await post(t, '/api/devices/pending/SN-1/adopt', '{"customer":"acme"}', null)).status).toBe(401);
    expect((await post(t, '/api/devices/pending/SN-1/reject', '{}', 'test-read-token-0123456789ab')).status).toBe(403);
  });
});
