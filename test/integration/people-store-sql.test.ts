/**
 * Issue 16: users, personal tokens and sessions on the SqlStore - the same queries and ONE migration list on the
 * embedded SQLite file and on a real PostgreSQL 15. Two store instances on one PostgreSQL stand for two hub nodes:
 * a session or token made on one is good on the other, and ends on both.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../hub/db.ts';
import { PeopleStore } from '../../hub/people/store.ts';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
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
const HASH = 'scrypt$not-a-real-hash';

describe.each(['sqlite', 'postgres'] as const)('people store on %s', (dialect) => {
  it('users, tokens and sessions behave the same on both dialects', async () => {
    let now = T0;
    const people = new PeopleStore(await stores.make(dialect), () => now);
    await people.migrate();
    await people.migrate();
    const jan = await people.addUser({ name: 'jan', role: 'engineer', passwordHash: HASH });
    expect(jan).toEqual({
      name: 'jan',
      role: 'engineer',
      createdAt: new Date(T0).toISOString(),
      updatedAt: jan.createdAt,
    });
    await expect(people.addUser({ name: 'jan', role: 'admin', passwordHash: HASH })).rejects.toThrow(/already exists/);
    await people.addUser({ name: 'wall1', role: 'wall', customers: ['acme', 'globex'], passwordHash: HASH });
    await people.addUser({ name: 'acme-rep', role: 'customer', customer: 'acme', passwordHash: HASH });
    await expect(people.addUser({ name: 'x', role: 'customer', passwordHash: HASH })).rejects.toThrow(/customer/);
    expect((await people.users()).map((u) => u.name)).toEqual(['acme-rep', 'jan', 'wall1']);
    expect((await people.user('wall1'))?.customers).toEqual(['acme', 'globex']);
    expect(await people.passwordHash('jan')).toBe(HASH);

    const { token, view } = await people.createToken('jan', 'laptop');
    expect(token.startsWith(`hzt_${view.id}_`)).toBe(true);
    expect((await people.userForToken(token))?.user.name).toBe('jan');
    expect(await people.userForToken(`${token}x`)).toBeUndefined();
    expect(await people.userForToken(`hzt_${view.id}_`)).toBeUndefined();
    await expect(people.createToken('nobody', 'x')).rejects.toThrow(/not found/);

    const session = await people.createSession('jan', 60_000, '10.0.0.1');
    expect((await people.session(session.sessionId))?.csrfToken).toBe(session.csrfToken);
    now += 60_000; // expires_ms is a millisecond timestamp: beyond 32 bits, a BIGINT on PostgreSQL
    expect(await people.session(session.sessionId)).toBeUndefined();

    const second = await people.createSession('jan', 60_000, '10.0.0.1');
    now += 1000;
    const changed = await people.updateUser('jan', { role: 'admin', passwordHash: 'scrypt$new' });
    expect(changed.role).toBe('admin');
    expect(changed.updatedAt).toBe(new Date(now).toISOString());
    expect(await people.passwordHash('jan')).toBe('scrypt$new');
    expect(await people.session(second.sessionId)).toBeUndefined(); // a new role or password ends every session
    expect((await people.updateUser('jan', { role: 'engineer' })).role).toBe('engineer');
    expect(await people.passwordHash('jan')).toBe('scrypt$new'); // no password given: kept

    expect((await people.revokeToken(view.id)).revokedAt).toBe(new Date(now).toISOString());
    await expect(people.revokeToken(view.id)).rejects.toThrow(/already revoked/);
    expect(await people.userForToken(token)).toBeUndefined();

    const third = await people.createSession('acme-rep', 60_000, '10.0.0.2');
    await people.createToken('acme-rep', 'phone');
    expect(await people.endSession(third.sessionId)).toBe(true);
    expect(await people.endSession(third.sessionId)).toBe(false);
    await people.removeUser('acme-rep');
    expect(await people.tokens('acme-rep')).toEqual([]); // tokens go with their user
    await expect(people.removeUser('acme-rep')).rejects.toThrow(/not found/);
  });
});

describe('two hub nodes on one PostgreSQL', () => {
  it('a session and a token made on one node are good on the other, and end on both', async () => {
    const url = await stores.postgresUrl();
    const first = new PostgresStore(url);
    const other = new PostgresStore(url);
    try {
      const nodeA = new PeopleStore(first, () => T0);
      const nodeB = new PeopleStore(other, () => T0);
      await Promise.all([nodeA.migrate(), nodeB.migrate()]);
      await nodeA.addUser({ name: 'ola', role: 'engineer', passwordHash: HASH });
      const session = await nodeA.createSession('ola', 60_000, '10.0.0.3');
      const { token } = await nodeB.createToken('ola', 'desk');
      expect((await nodeB.session(session.sessionId))?.user.name).toBe('ola');
      expect((await nodeA.userForToken(token))?.user.name).toBe('ola');
      await nodeB.endSession(session.sessionId);
      expect(await nodeA.session(session.sessionId)).toBeUndefined();
    } finally {
      await first.close();
      await other.close();
    }
  });
});

describe('people store on a SQLite file of an earlier hub', () => {
  it('keeps the users an earlier hub created with its own ledger', async () => {
    const db = new Database(stores.sqliteFile());
    db.pragma('foreign_keys = ON');
    db.exec(`CREATE TABLE schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (module, version))`);
    migrate(db, 'people', [
      `CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, customer TEXT, wall_customers TEXT,
         password_hash TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
       CREATE TABLE api_tokens (id TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
         label TEXT NOT NULL, secret_sha256 TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT, last_used_at TEXT);
       CREATE TABLE sessions (id_sha256 TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
         csrf_token TEXT NOT NULL, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, address TEXT);`,
    ]);
    db.prepare(
      "INSERT INTO users VALUES ('old', 'admin', NULL, NULL, 'scrypt$old', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    ).run();
    const people = new PeopleStore(new SqliteStore(db), () => T0);
    await people.migrate();
    expect((await people.user('old'))?.role).toBe('admin');
    expect((await people.createSession('old', 1000, '::1')).sessionId.length).toBeGreaterThan(20);
    db.close();
  });
});
