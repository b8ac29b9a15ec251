/**
 * Issue 16: site incidents on the SqlStore. The same queries and ONE migration list on the embedded SQLite file and
 * on a real PostgreSQL 15: ids, JSON columns, merge, the lifecycle's conditional updates (a second acknowledge or
 * resolve is refused by the row's state, also when two run at once), bad ids never reach the database, and a
 * SQLite file of an earlier hub is accepted as is.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../hub/db.ts';
import { createIncidentsModule } from '../../hub/incidents/module.ts';
import { IncidentStore } from '../../hub/incidents/store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { ErrorCode } from '../../protocols/errors.ts';
import { makeFakeHubContext } from '../helpers/fake-hub-context.ts';
import { type SqlStores, startSqlStores } from '../helpers/sql-stores.ts';

let stores: SqlStores;
beforeAll(async () => {
  stores = await startSqlStores();
});
afterAll(async () => {
  await stores?.close();
});

const openInput = (site: string, agent = 'agent-a') => ({
  site,
  customer: 'acme',
  agent,
  reason: 'agent-offline',
  serials: ['DEV0001'],
  at: '2026-11-30T06:00:00.000Z',
});

describe.each(['sqlite', 'postgres'] as const)('site incidents on %s', (dialect) => {
  it('opens, merges, acknowledges and resolves the same way on both dialects', async () => {
    const store = new IncidentStore(await stores.make(dialect));
    await store.migrate();
    await store.migrate(); // a second start applies nothing

    const a = await store.open(openInput('site-a'));
    expect(a).toEqual({
      id: 'SI-000001',
      site: 'site-a',
      customer: 'acme',
      agents: ['agent-a'],
      reasons: ['agent-offline'],
      serials: ['DEV0001'],
      state: 'open',
      openedAt: '2026-11-30T06:00:00.000Z',
      acknowledgedAt: null,
      acknowledgedBy: null,
      resolvedAt: null,
      resolution: null,
    });
    const b = await store.open({ ...openInput('site-b'), customer: null });
    expect(b.id).toBe('SI-000002');
    expect(b.customer).toBeNull();

    const merged = await store.merge(a.id, 'agent-a2', 'network-down', ['DEV0002', 'DEV0001']);
    expect(merged).toMatchObject({
      agents: ['agent-a', 'agent-a2'],
      reasons: ['agent-offline', 'network-down'],
      serials: ['DEV0001', 'DEV0002'],
    });
    expect((await store.openFor('site-a'))?.id).toBe(a.id);
    expect(await store.openFor('site-c')).toBeUndefined();

    const acked = await store.acknowledge(a.id, 'jan', '2026-11-30T06:05:00.000Z');
    expect(acked).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'jan',
      acknowledgedAt: '2026-11-30T06:05:00.000Z',
    });
    await expect(store.acknowledge(a.id, 'ola', 'x')).rejects.toMatchObject({
      code: ErrorCode.TRANSITION_NOT_ALLOWED,
    });
    expect((await store.get(a.id))?.acknowledgedBy).toBe('jan'); // the refused call changed nothing

    const resolved = await store.resolve(a.id, 'power back', '2026-11-30T07:00:00.000Z');
    expect(resolved).toMatchObject({
      state: 'resolved',
      resolution: 'power back',
      resolvedAt: '2026-11-30T07:00:00.000Z',
    });
    await expect(store.resolve(a.id, 'again', 'y')).rejects.toMatchObject({ code: ErrorCode.TRANSITION_NOT_ALLOWED });
    expect(await store.openFor('site-a')).toBeUndefined();

    // a resolved site opens a new incident; the list is newest first
    const a2 = await store.open(openInput('site-a'));
    expect(a2.id).toBe('SI-000003');
    expect((await store.list({ state: 'all' }, 10)).map((i) => i.id)).toEqual(['SI-000003', 'SI-000002', 'SI-000001']);
    expect((await store.list({ state: 'open' }, 10)).map((i) => i.id)).toEqual(['SI-000003', 'SI-000002']);
    expect((await store.list({ state: 'all' }, 1)).map((i) => i.id)).toEqual(['SI-000003']);
  });

  it('two acknowledges at once: exactly one wins', async () => {
    const store = new IncidentStore(await stores.make(dialect));
    await store.migrate();
    const { id } = await store.open(openInput('site-a'));
    const results = await Promise.allSettled([
      store.acknowledge(id, 'jan', '2026-11-30T06:05:00.000Z'),
      store.acknowledge(id, 'ola', '2026-11-30T06:05:00.000Z'),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const winner = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ acknowledgedBy: string }>)
      .value.acknowledgedBy;
    expect((await store.get(id))?.acknowledgedBy).toBe(winner);
  });

  it('the module handles alerts in order: two alerts of one site at once open ONE incident, a clear resolves it', async () => {
    const sql = await stores.make(dialect);
    const { ctx, bus } = makeFakeHubContext();
    ctx.sql = sql;
    const module = createIncidentsModule(ctx);
    await module.start?.();
    const alert = (agentId: string, status: 'raised' | 'cleared') =>
      bus.emit('site-alert', {
        site: 'site-a',
        agentId,
        status,
        at: '2026-11-30T06:00:00.000Z',
        reason: 'agent-offline',
        serials: [`DEV-${agentId}`],
      });
    alert('agent-1', 'raised');
    alert('agent-2', 'raised');
    alert('agent-1', 'cleared');
    await module.stop?.(); // waits for the alerts already received
    const all = await new IncidentStore(sql).list({ state: 'all' }, 10);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      state: 'open',
      agents: ['agent-1', 'agent-2'],
      serials: ['DEV-agent-1', 'DEV-agent-2'],
    });
  });

  it('an unknown or malformed id is NOT_FOUND and never reaches the database', async () => {
    const store = new IncidentStore(await stores.make(dialect));
    await store.migrate();
    for (const id of ['SI-000009', 'nope', "SI-1' OR '1'='1", `SI-${'9'.repeat(30)}`]) {
      expect(await store.get(id)).toBeUndefined();
      await expect(store.acknowledge(id, 'jan', 'x')).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
      await expect(store.resolve(id, 'r', 'x')).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
      await expect(store.merge(id, 'a', 'r', [])).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
    }
  });
});

describe('site incidents on a SQLite file of an earlier hub', () => {
  it('keeps the rows an earlier hub wrote with its own ledger and continues its numbering', async () => {
    const db = new Database(stores.sqliteFile());
    db.exec(`CREATE TABLE schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (module, version))`);
    // what hub/db.ts's migrate() applied as incidents version 1 before the SqlStore
    migrate(db, 'incidents', [
      `CREATE TABLE site_incidents (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, customer TEXT, agents TEXT NOT NULL,
     reasons TEXT NOT NULL, serials TEXT NOT NULL, state TEXT NOT NULL, opened_at TEXT NOT NULL,
     acknowledged_at TEXT, acknowledged_by TEXT, resolved_at TEXT, resolution TEXT);
   CREATE INDEX site_incidents_open ON site_incidents(site, state);`,
    ]);
    db.prepare(
      `INSERT INTO site_incidents (site, customer, agents, reasons, serials, state, opened_at)
       VALUES ('old-site', NULL, '["agent-old"]', '["agent-offline"]', '[]', 'open', '2026-01-01T00:00:00.000Z')`,
    ).run();
    const store = new IncidentStore(new SqliteStore(db));
    await store.migrate();
    expect((await store.openFor('old-site'))?.id).toBe('SI-000001');
    expect((await store.open(openInput('site-a'))).id).toBe('SI-000002');
    db.close();
  });
});
