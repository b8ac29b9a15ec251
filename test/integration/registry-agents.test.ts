/**
 * Issue 14: agent credentials created, rotated and removed through the API on a running hub; the embedded broker
 * accepts a new agent at once (no restart), refuses an old password after rotation, and keeps the agent after a
 * hub restart. The password is shown once and never stored or audited in clear.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub, type TestHub } from '../helpers/hub-fixture.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function post(t: TestHub, path: string, body?: unknown) {
  const res = await t.api(path, {
    method: 'POST',
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('agents through the API', () => {
  it('a new agent connects and reports at once; rotation and removal take effect; survives a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hezo-agents-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    let t = await startTestHub({ dataDir });
    cleanups.push(() => t.close());

    expect((await post(t, '/api/agents', { id: 'agent-new', site: 'nowhere' })).status).toBe(422);
    const created = await post(t, '/api/agents', { id: 'agent-new', site: 'site-a' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: 'agent-new',
      site: 'site-a',
      source: 'api',
      password: expect.any(String),
    });
    const password = created.body.password as string;
    expect((await post(t, '/api/agents', { id: 'agent-new', site: 'site-a' })).status).toBe(409);
    expect((await post(t, '/api/agents', { id: 'agent-1', site: 'site-a' })).status).toBe(409);

    const agent = await connectAgent(t.urls.mqttUrl, { agentId: 'agent-new', site: 'site-a', password });
    const seen = nextBusEvent(t.hub.ctx.bus, 'ingest:health', (m) => m.message.identity.serial === 'NEW-1');
    await agent.send('health', makeHealthRecord({ agentId: 'agent-new', site: 'site-a', serial: 'NEW-1' }));
    await seen;
    await agent.close();

    const rotated = await post(t, '/api/agents/agent-new/rotate');
    expect(rotated.status).toBe(200);
    const next = rotated.body.password as string;
    expect(next).not.toBe(password);
    await expect(connectAgent(t.urls.mqttUrl, { agentId: 'agent-new', site: 'site-a', password })).rejects.toThrow();
    (await connectAgent(t.urls.mqttUrl, { agentId: 'agent-new', site: 'site-a', password: next })).close();
    expect((await post(t, '/api/agents/agent-1/rotate')).body.code).toBe('IN_USE');

    const listed = await (await t.api('/api/agents')).json();
    expect(listed.map((a: { id: string }) => a.id)).toEqual(['agent-1', 'agent-2', 'agent-new']);
    expect(JSON.stringify(listed)).not.toContain(next);
    const audit = JSON.stringify(await (await t.api('/api/audit?action=agent.*')).json());
    expect(audit).toContain('agent.rotate');
    expect(audit).not.toContain(next);
    expect(audit).not.toContain(password);

    await t.close();
    t = await startTestHub({ dataDir });
    const again = await connectAgent(t.urls.mqttUrl, { agentId: 'agent-new', site: 'site-a', password: next });
    await again.close();
    expect((await t.api('/api/agents/agent-new', { method: 'DELETE' })).status).toBe(204);
    await expect(
      connectAgent(t.urls.mqttUrl, { agentId: 'agent-new', site: 'site-a', password: next }),
    ).rejects.toThrow();
  });
});
