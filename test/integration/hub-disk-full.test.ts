/**
 * Issue 19: storage faults are loud and lossless. The hub's SQLite file runs out of space (SQLITE_FULL, made
 * real with `PRAGMA max_page_count`) while a device dies: the transition is kept (not announced before it is
 * stored), /healthz answers 503 degraded with the reason, /metrics counts the failed writes and shows the
 * free space; when space returns the transition is stored once and its P1 opens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub, sumMetric } from '../helpers/hub-fixture.ts';
import { connectAgent } from '../helpers/mqtt-agent.ts';
import { nextBusEvent, waitFor } from '../helpers/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('hub disk full', () => {
  it('keeps the transition, reports degraded, and opens the P1 once space returns', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hezo-full-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const t = await startTestHub({ dataDir, modules: 'all' });
    cleanups.push(() => t.close());
    const agent = await connectAgent(t.urls.mqttUrl, {
      agentId: 'agent-1',
      site: 'site-a',
      password: 'agent-1-secret',
    });
    cleanups.push(() => agent.close());
    // Another site's agent fills the disk (SN-1's own agent watches one device: no site-grouping hold).
    const other = await connectAgent(t.urls.mqttUrl, {
      agentId: 'agent-2',
      site: 'site-b',
      password: 'agent-2-secret',
    });
    cleanups.push(() => other.close());
    const up = nextBusEvent(t.hub.ctx.bus, 'device-state', (tr) => tr.serial === 'SN-1' && tr.to === 'up');
    await agent.send('health', makeHealthRecord({ serial: 'SN-1', seq: 1 }));
    await up;
    expect((await t.api('/healthz')).status).toBe(200);

    // The disk is full: no page can be added to the database.
    const db = t.hub.ctx.db;
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    // Use up the free room inside existing pages too (rows of another serial), as a full disk would leave none.
    const fill = db.prepare(
      `INSERT INTO device_transitions (serial, site, customer, agent_id, from_state, to_state, at, reason, evidence,
         problems, in_maintenance) VALUES ('FILL', 's', 'c', NULL, 'up', 'up', '', ?, '[]', '[]', 0)`,
    );
    for (const size of [2000, 200, 20, 1]) {
      for (;;) {
        try {
          fill.run('x'.repeat(size));
        } catch {
          break;
        }
      }
    }
    const opened: string[] = [];
    t.hub.ctx.bus.on('ticket', (e) => {
      if (e.change === 'opened') opened.push(e.ticket.serial);
    });
    // Enough writes to need new pages (failed polls are always kept in the history), then the device dies.
    for (let seq = 2; seq < 40; seq++) {
      const filler = { serial: `SN-${seq}`, seq, reachable: seq % 2 === 0, agentId: 'agent-2', site: 'site-b' };
      await other.send('health', makeHealthRecord(filler));
    }
    for (let seq = 40; seq < 43; seq++) {
      await agent.send('health', makeHealthRecord({ serial: 'SN-1', seq, reachable: false, at: Date.now() + seq }));
    }
    const degraded = await waitFor(
      async () => {
        const res = await t.api('/healthz');
        return res.status === 503 ? ((await res.json()) as { status: string; reasons: string[] }) : undefined;
      },
      { timeoutMs: 10_000, what: '/healthz 503' },
    );
    expect(degraded.status).toBe('degraded');
    expect(degraded.reasons.join('\n')).toMatch(/full/);
    const metrics = await (await t.api('/metrics')).text();
    expect(sumMetric(metrics, 'hezo_store_write_failures_total')).toBeGreaterThan(0);
    expect(sumMetric(metrics, 'hezo_data_dir_free_bytes')).toBeGreaterThan(0);
    expect(sumMetric(metrics, 'hezo_store_degraded')).toBe(1);

    // Space returns: the kept transition is stored once and its P1 opens.
    const ticket = nextBusEvent(
      t.hub.ctx.bus,
      'ticket',
      (e) => e.ticket.serial === 'SN-1' && e.change === 'opened',
      20_000,
    );
    db.pragma('max_page_count = 1073741823');
    const { ticket: p1 } = await ticket;
    expect(p1.priority).toBe('P1');
    await waitFor(async () => (await t.api('/healthz')).status === 200, { timeoutMs: 20_000, what: '/healthz 200' });
    const downs = db
      .prepare("SELECT count(*) AS n FROM device_transitions WHERE serial = 'SN-1' AND to_state = 'down'")
      .get() as { n: number };
    expect(downs.n).toBe(1);
    expect(opened.filter((s) => s === 'SN-1')).toEqual(['SN-1']);
  });
});
