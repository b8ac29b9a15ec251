/**
 * Issue 16: the hub's stores on PostgreSQL never wait for ever behind a cut network link. `database.queryTimeoutMs`
 * (and the connect timeout) reach the pool that openSqlStore makes: with the link black-holed by a proxy (no reset,
 * no error: only silence), a query and a transaction fail with a timeout instead of hanging the stores' ordered
 * writes; once the link is back the next query works (the dead connection was discarded, not reused).
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseConfig } from '../../hub/cluster/cluster-config.ts';
import { openSqlStore } from '../../hub/store/open-store.ts';
import type { SqlStore } from '../../hub/store/sql-store.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

let postgres: Postgres;
let proxy: TcpProxy;
let sql: SqlStore | undefined;
const local = new Database(':memory:');
beforeAll(async () => {
  postgres = await startPostgres();
  const target = new URL(postgres.url);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
});
afterAll(async () => {
  await sql?.close();
  await proxy?.close();
  await postgres?.close();
  local.close();
});

describe('PostgreSQL stores behind a cut link', () => {
  it('a query and a transaction fail after database.queryTimeoutMs; the store works again once the link heals', async () => {
    const viaProxy = new URL(postgres.url);
    viaProxy.host = `${proxy.host}:${proxy.port}`;
    const database = DatabaseConfig.parse({ url: viaProxy.toString(), queryTimeoutMs: 1000, connectTimeoutMs: 1000 });
    expect(database.idleInTransactionTimeoutMs).toBe(60_000);
    const store = openSqlStore({ database }, local);
    sql = store;
    expect(store.dialect).toBe('postgres');
    expect(await store.query<{ n: number }>('SELECT 1 AS n')).toEqual([{ n: 1 }]);

    proxy.cut();
    await expect(store.query('SELECT 2 AS n')).rejects.toThrow(/timeout/i);
    await expect(store.transaction((tx) => tx.query('SELECT 3 AS n'))).rejects.toThrow(/timeout/i);

    proxy.heal();
    expect(await store.query<{ n: number }>('SELECT 4 AS n')).toEqual([{ n: 4 }]);
  });

  it('a wrong timeout in the config is refused with the field named', () => {
    expect(() => DatabaseConfig.parse({ url: 'postgres://h/x', queryTimeoutMs: 10 })).toThrow(/queryTimeoutMs/);
  });
});
