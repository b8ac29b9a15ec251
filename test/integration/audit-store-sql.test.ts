/**
 * Issue 16: the audit trail is the first hub store on the SqlStore abstraction. The same queries and ONE migration
 * list on the embedded SQLite file and on a real PostgreSQL 15: filters, paging, secrets kept out, and the table
 * stays append-only on both (an UPDATE, DELETE or - on PostgreSQL - TRUNCATE is refused by the database itself).
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../hub/audit/store.ts';
import { migrate } from '../../hub/db.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { type SqlStores, startSqlStores } from '../helpers/sql-stores.ts';

let stores: SqlStores;
beforeAll(async () => {
  stores = await startSqlStores();
});
afterAll(async () => {
  await stores?.close();
});

const T0 = Date.parse('2026-11-30T06:00:00.000Z');

describe.each(['sqlite', 'postgres'] as const)('audit trail on %s', (dialect) => {
  it('records and filters the same way on both dialects, oldest first, paged by afterId', async () => {
    const sql = await stores.make(dialect);
    let now = T0;
    const audit = new AuditStore(sql, () => now);
    await audit.migrate();
    await audit.migrate(); // a second start applies nothing
    const jan = { id: 'user:jan', name: 'jan', role: 'engineer' };
    const ids: number[] = [];
    ids.push(
      await audit.record({ actor: jan, address: '10.0.0.7', action: 'ticket.transition', target: 'ticket:HZ-1' }),
    );
    now += 60_000;
    ids.push(
      await audit.record({
        actor: { id: 'cli:root', name: 'root' },
        action: 'user.add',
        target: 'user:ola',
        after: { name: 'ola', password: 'hunter2-secret', nested: { token: 'abc' } },
      }),
    );
    now += 60_000;
    ids.push(await audit.record({ actor: jan, action: 'ticket.note', target: 'ticket:HZ-1', before: { n: 1 } }));
    expect(ids[1]).toBeGreaterThan(ids[0]!);
    expect(ids[2]).toBeGreaterThan(ids[1]!);

    const all = await audit.query({ limit: 100 });
    expect(all.map((e) => e.action)).toEqual(['ticket.transition', 'user.add', 'ticket.note']);
    expect(all[0]).toMatchObject({
      id: ids[0],
      at: '2026-11-30T06:00:00.000Z',
      actor: { id: 'user:jan', name: 'jan', role: 'engineer' },
      address: '10.0.0.7',
      target: 'ticket:HZ-1',
      before: null,
      after: null,
    });
    // secrets never enter the trail
    expect(all[1]?.after).toEqual({ name: 'ola', password: '[redacted]', nested: { token: '[redacted]' } });
    expect(all[1]?.actor.role).toBeNull();

    expect((await audit.query({ actor: 'jan', limit: 100 })).map((e) => e.id)).toEqual([ids[0], ids[2]]);
    expect((await audit.query({ actor: 'user:jan', limit: 100 })).length).toBe(2);
    expect((await audit.query({ action: 'ticket.*', limit: 100 })).map((e) => e.id)).toEqual([ids[0], ids[2]]);
    expect((await audit.query({ action: 'user.add', limit: 100 })).map((e) => e.id)).toEqual([ids[1]]);
    expect((await audit.query({ target: 'ticket:HZ-1', afterId: ids[0], limit: 100 })).map((e) => e.id)).toEqual([
      ids[2],
    ]);
    const window = await audit.query({
      from: '2026-11-30T07:01:00+01:00', // = 06:01Z, the second row
      to: '2026-11-30T06:02:00Z',
      limit: 100,
    });
    expect(window.map((e) => e.id)).toEqual([ids[1]]);
    expect((await audit.query({ limit: 2 })).map((e) => e.id)).toEqual([ids[0], ids[1]]);
    expect(await audit.query({ actor: "x' OR '1'='1", limit: 100 })).toEqual([]);
  });

  it('the database refuses to change or delete a row', async () => {
    const sql = await stores.make(dialect);
    const audit = new AuditStore(sql, () => T0);
    await audit.migrate();
    const id = await audit.record({ actor: { id: 'a', name: 'a' }, action: 'x.y' });
    await expect(sql.run("UPDATE audit_log SET action = 'forged' WHERE id = $1", [id])).rejects.toThrow(/append-only/);
    await expect(sql.run('DELETE FROM audit_log WHERE id = $1', [id])).rejects.toThrow(/append-only/);
    if (dialect === 'postgres') await expect(sql.exec('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    expect((await audit.query({ limit: 10 })).map((e) => e.action)).toEqual(['x.y']);
  });
});

describe('audit trail on a SQLite file of an earlier hub', () => {
  it('keeps the table and rows an earlier hub created with its own ledger, and appends after them', async () => {
    const file = stores.sqliteFile();
    const db = new Database(file);
    db.exec(`CREATE TABLE schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (module, version))`);
    // what hub/db.ts's migrate() applied as audit version 1 before the SqlStore
    migrate(db, 'audit', [
      `CREATE TABLE audit_log (
         id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor_id TEXT NOT NULL, actor_name TEXT NOT NULL,
         actor_role TEXT, address TEXT, action TEXT NOT NULL, target TEXT, before_json TEXT, after_json TEXT);`,
    ]);
    db.prepare(
      "INSERT INTO audit_log (at, actor_id, actor_name, action) VALUES ('2026-01-01T00:00:00.000Z', 'old', 'old', 'old.row')",
    ).run();
    const audit = new AuditStore(new SqliteStore(db), () => T0);
    await audit.migrate();
    await audit.record({ actor: { id: 'new', name: 'new' }, action: 'new.row' });
    expect((await audit.query({ limit: 10 })).map((e) => e.action)).toEqual(['old.row', 'new.row']);
    db.close();
  });
});
