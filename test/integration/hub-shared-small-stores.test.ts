/**
 * Issue 16: with `database.url`, the small stores moved onto the SqlStore (site incidents, watches, reboots, identity
 * alerts, peripheral links, pending devices, API agents) live in PostgreSQL: two real hubs with every module on one
 * real PostgreSQL 15 create their tables there once (not in their SQLite files), an agent made on one node is listed
 * and refused as a duplicate on the other, and a site incident opened by one node is acknowledged through the other.
 */

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import { startTestHub, type TestHub } from '../helpers/hub-fixture.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait-for.ts';

const TABLES = [
  'agents',
  'device_reboots',
  'device_watches',
  'identity_alerts',
  'peripheral_links',
  'pending_devices',
  'rejected_devices',
  'site_incidents',
];

let postgres: Postgres;
const hubs: TestHub[] = [];
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
  await postgres?.close();
});

const post = (hub: TestHub, path: string, body: unknown) =>
  hub.api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('two hub nodes with every module on one PostgreSQL', () => {
  it('keep the small stores in PostgreSQL and share them', async () => {
    const [a, b] = (await Promise.all(
      ['hub-a', 'hub-b'].map(async (node) => {
        const hub = await startTestHub({
          modules: 'all',
          config: { node, database: { url: postgres.url }, cluster: { partitions: 4, leaseMs: 2_000, renewMs: 400 } },
        });
        hubs.push(hub);
        return hub;
      }),
    )) as [TestHub, TestHub];

    const pg = new PostgresStore(postgres.url, { max: 1 });
    try {
      const tables = await pg.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ANY($1::text[])
`,
        [`{${TABLES.join(',')}}`],
      );
      expect(tables.map((t) => t.table_name).sort()).toEqual([...TABLES].sort());
      // each migration applied once although both nodes started together
      const ledger = await pg.query<{ module: string; n: string }>(
        `SELECT module, COUNT(*) AS n FROM schema_migrations
         WHERE module IN ('incidents', 'watches', 'reboots', 'identity', 'peripherals', 'adoption', 'agents')
         GROUP BY module`,
      );
      expect(ledger.map((r) => `${r.module}:${r.n}`).sort()).toEqual([
        'adoption:1',
        'agents:1',
        'identity:1',
        'incidents:1',
        'peripherals:1',
        'reboots:1',
        'watches:1',
      ]);
    } finally {
      await pg.close();
    }
    for (const hub of [a, b]) {
      const db = new Database(join(hub.dataDir, 'hezo.sqlite'), { readonly: true });
      const local = db
        .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (${TABLES.map(() => '?').join(',')})`)
        .all(...TABLES);
      db.close();
      expect(local).toEqual([]); // nothing of these stores in the node's own file
    }

    // an agent made through node A: node B lists it and refuses the same id
    const created = await post(a, '/api/agents', { id: 'agent-pg', site: 'site-a' });
    expect(created.status).toBe(201);
    const onB = (await (await b.api('/api/agents')).json()) as { id: string; source: string }[];
    expect(onB.find((x) => x.id === 'agent-pg')).toMatchObject({ source: 'api' });
    expect((await post(b, '/api/agents', { id: 'agent-pg', site: 'site-b' })).status).toBe(409);

    // a site incident opened by the node that holds site-a (its duty; the partitions may have moved since B joined)
    // is acknowledged through the other node
    const [holder, other] = await waitFor(() =>
      a.hub.ctx.duties?.holds('site-a') ? [a, b] : b.hub.ctx.duties?.holds('site-a') ? [b, a] : undefined,
    );
    holder.hub.ctx.bus.emit('site-alert', {
      site: 'site-a',
      agentId: 'agent-1',
      status: 'raised',
      at: new Date().toISOString(),
      reason: 'agent-offline',
      serials: ['PGDEV001'],
    });
    const [incident] = await waitFor(
      async () => {
        const list = (await (await other.api('/api/site-incidents')).json()) as { id: string; site: string }[];
        return list.length > 0 ? list : undefined;
      },
      { what: 'the incident seen through the other node' },
    );
    expect(incident).toMatchObject({ site: 'site-a' });
    const ack = await post(other, `/api/site-incidents/${incident?.id}/acknowledge`, { actor: 'noc' });
    expect(ack.status).toBe(200);
    const seenOnHolder = (await (await holder.api(`/api/site-incidents/${incident?.id}`)).json()) as { state: string };
    expect(seenOnHolder.state).toBe('acknowledged');
    expect((await post(holder, `/api/site-incidents/${incident?.id}/acknowledge`, { actor: 'noc' })).status).toBe(409);
  });
});
