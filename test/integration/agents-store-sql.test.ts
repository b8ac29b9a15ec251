/**
 * Issue 16: agent accounts added through the API, on the SqlStore. The same queries and ONE migration list on the
 * embedded SQLite file and on a real PostgreSQL 15: create, rotate, remove, the broker told each change, config-file
 * agents untouchable, two creates of one id at once (one wins, the other is DUPLICATE_KEY), a restart hands the
 * stored agents to the broker, and a SQLite file of an earlier hub is accepted as is.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../hub/db.ts';
import { AgentAccounts } from '../../hub/registry/agents.ts';
import type { SqlStore } from '../../hub/store/sql-store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { ErrorCode } from '../../protocols/errors.ts';
import { type SqlStores, startSqlStores } from '../helpers/sql-stores.ts';

let stores: SqlStores;
beforeAll(async () => {
  stores = await startSqlStores();
});
afterAll(async () => {
  await stores?.close();
});

const T0 = Date.parse('2026-11-30T06:00:00.000Z');
const config = { agents: [{ id: 'agent-cfg', site: 'site-cfg', password: 'agent-cfg-secret-0001' }] };

function accounts(sql: SqlStore, now = () => T0) {
  const broker = new Map<string, { site: string; passwordHash: string }>();
  const services = {
    agentAccounts: {
      set: (a: { id: string; site: string; passwordHash: string }) => broker.set(a.id, a),
      delete: (id: string) => broker.delete(id),
    },
  };
  return { agents: new AgentAccounts(sql, config, services, now), broker };
}

describe.each(['sqlite', 'postgres'] as const)('agent accounts on %s', (dialect) => {
  it('creates, rotates and removes the same way on both dialects; the broker learns each change', async () => {
    const sql = await stores.make(dialect);
    let now = T0;
    const { agents, broker } = accounts(sql, () => now);
    await agents.start();

    const created = await agents.create('agent-b', 'site-b');
    expect(created).toMatchObject({
      id: 'agent-b',
      site: 'site-b',
      source: 'api',
      createdAt: new Date(T0).toISOString(),
    });
    expect(created.password.length).toBeGreaterThanOrEqual(24);
    const firstHash = broker.get('agent-b')?.passwordHash;
    expect(firstHash).toMatch(/\S/);
    expect(firstHash).not.toContain(created.password);
    await agents.create('agent-a', 'site-a');
    await expect(agents.create('agent-b', 'site-x')).rejects.toMatchObject({ code: ErrorCode.DUPLICATE_KEY });
    await expect(agents.create('agent-cfg', 'site-x')).rejects.toMatchObject({ code: ErrorCode.DUPLICATE_KEY });

    now += 60_000;
    const rotated = await agents.rotate('agent-b');
    expect(rotated).toMatchObject({ createdAt: new Date(T0).toISOString(), rotatedAt: new Date(now).toISOString() });
    expect(rotated.password).not.toBe(created.password);
    expect(broker.get('agent-b')?.passwordHash).not.toBe(firstHash);
    await expect(agents.rotate('agent-cfg')).rejects.toMatchObject({ code: ErrorCode.IN_USE });
    await expect(agents.rotate('nobody')).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });

    expect((await agents.list()).map((a) => `${a.id}:${a.source}`)).toEqual([
      'agent-cfg:config',
      'agent-a:api',
      'agent-b:api',
    ]);
    expect(await agents.remove('agent-a')).toEqual({ id: 'agent-a', site: 'site-a', source: 'api' });
    expect(broker.has('agent-a')).toBe(false);
    await expect(agents.remove('agent-a')).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
    await expect(agents.remove("x' OR '1'='1")).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });

    // a restarted hub hands the stored agents (with their rotated hash) to the broker
    const again = accounts(sql);
    await again.agents.start();
    expect([...again.broker.keys()]).toEqual(['agent-b']);
    expect(again.broker.get('agent-b')?.passwordHash).toBe(broker.get('agent-b')?.passwordHash);
  });

  it('two creates of one id at once: one wins, the other is DUPLICATE_KEY, and the broker holds the winner', async () => {
    const sql = await stores.make(dialect);
    const { agents, broker } = accounts(sql);
    await agents.start();
    const results = await Promise.allSettled([agents.create('agent-z', 'site-1'), agents.create('agent-z', 'site-2')]);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toMatchObject({ code: ErrorCode.DUPLICATE_KEY });
    const winner = (won[0] as PromiseFulfilledResult<{ site: string }>).value.site;
    expect(broker.get('agent-z')?.site).toBe(winner);
    expect((await agents.list()).find((a) => a.id === 'agent-z')?.site).toBe(winner);
  });
});

describe('agent accounts on a SQLite file of an earlier hub', () => {
  it('hands the agents an earlier hub stored with its own ledger to the broker', async () => {
    const db = new Database(stores.sqliteFile());
    db.exec(`CREATE TABLE schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (module, version))`);
    // what hub/db.ts's migrate() applied as agents version 1 before the SqlStore
    migrate(db, 'agents', [
      `CREATE TABLE agents (
     id TEXT PRIMARY KEY, site TEXT NOT NULL, password_hash TEXT NOT NULL, created_at TEXT NOT NULL,
     rotated_at TEXT NOT NULL);`,
    ]);
    db.prepare("INSERT INTO agents VALUES ('agent-old', 'site-old', 'scrypt$old', ?, ?)").run(
      '2026-01-01',
      '2026-01-01',
    );
    const { agents, broker } = accounts(new SqliteStore(db));
    await agents.start();
    expect(broker.get('agent-old')).toEqual({ id: 'agent-old', site: 'site-old', passwordHash: 'scrypt$old' });
    await expect(agents.create('agent-old', 'site-x')).rejects.toMatchObject({ code: ErrorCode.DUPLICATE_KEY });
    db.close();
  });
});
