/**
 * Issue 19: a raised room-network site alert is still on the NOC stream's snapshot after a hub restart (it used
 * to vanish from the page while never being cleared).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestHub, TEST_ADMIN_TOKEN } from '../helpers/hub-fixture.ts';
import { connectStream } from '../helpers/ws-stream-client.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('site alerts across a hub restart', () => {
  it('the stream snapshot after the restart still shows the raised site-network-down alert', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hezo-alert-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await startTestHub({ dataDir, modules: 'all' });
    first.hub.ctx.bus.emit('site-alert', {
      site: 'site-a',
      agentId: 'agent-1',
      status: 'raised',
      at: new Date().toISOString(),
      reason: 'site-network-down',
      serials: ['SN-1', 'SN-2'],
    });
    await first.close();
    const second = await startTestHub({ dataDir, modules: 'all' });
    cleanups.push(() => second.close());
    const wsUrl = `${second.urls.httpUrl.replace('http', 'ws')}/ws?token=${TEST_ADMIN_TOKEN}`;
    const client = await connectStream(wsUrl);
    cleanups.push(() => client.close());
    const snapshot = await client.next((m) => m.type === 'snapshot');
    expect(snapshot.siteAlerts).toMatchObject([
      { site: 'site-a', agentId: 'agent-1', status: 'raised', reason: 'site-network-down', serials: ['SN-1', 'SN-2'] },
    ]);
  });
});
