/**
 * Issue 16: the PostgreSQL change feed itself (hub/store/change-feed-pg.ts) on a real PostgreSQL 15, through a TCP
 * proxy the test controls. A silent network cut (no error, no reset: only the ping times out) is noticed, the feed
 * keeps trying with backoff while the database cannot be reached, and once it is back it reconnects and tells every
 * subscriber to reload everything; a change sent while it was away is not delivered, changes after it are; a
 * node's own changes never come back to it.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgChangeFeed } from '../../hub/store/change-feed-pg.ts';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import { systemClock } from '../../protocols/clock.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { waitFor } from '../helpers/wait-for.ts';

let postgres: Postgres;
let proxy: TcpProxy;
let sql: PostgresStore;
beforeAll(async () => {
  postgres = await startPostgres();
  const target = new URL(postgres.url);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  sql = new PostgresStore(postgres.url, { max: 2 });
});
afterAll(async () => {
  await sql?.close();
  await proxy?.close();
  await postgres?.close();
});

const counter = async (metrics: Registry, name: string): Promise<number> =>
  ((await metrics.getSingleMetric(name)?.get())?.values ?? []).reduce((sum, v) => sum + v.value, 0);

describe('the PostgreSQL change feed', () => {
  it('notices a silent cut, retries with backoff, reconnects and has every subscriber reload everything', async () => {
    const viaProxy = new URL(postgres.url);
    viaProxy.host = `${proxy.host}:${proxy.port}`;
    const metrics = new Registry();
    const listener = new PgChangeFeed({
      url: viaProxy.toString(),
      node: 'listener#1',
      sql,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      metrics,
      minBackoffMs: 20,
      maxBackoffMs: 200,
      pingMs: 200,
    });
    const other = new PgChangeFeed({
      url: postgres.url,
      node: 'writer#1',
      sql,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
    });
    const seen: Array<string | undefined> = [];
    listener.subscribe('agents', (key) => {
      seen.push(key);
    });
    await listener.start();
    try {
      await other.notify('agents', 'agent-1');
      await listener.notify('agents', 'mine'); // its own: never delivered to itself
      await waitFor(() => seen.includes('agent-1'), { what: 'the first change' });
      const connectionsBefore = proxy.connections();

      proxy.cut();
      await other.notify('agents', 'lost-while-cut');
      // retried while cut: every attempt opens a connection through the proxy (held, it times out)
      await waitFor(() => proxy.connections() >= connectionsBefore + 2, { what: 'reconnect attempts' });
      expect(await counter(metrics, 'hezo_store_feed_reconnects_total')).toBe(0);
      proxy.heal();
      await waitFor(async () => (await counter(metrics, 'hezo_store_feed_reconnects_total')) === 1, {
        what: 'the feed reconnected',
        timeoutMs: 10_000,
      });
      expect(seen).toContain(undefined); // the full reload after the reconnect
      await other.notify('agents', 'after');
      await waitFor(() => seen.includes('after'), { what: 'a change after the reconnect' });
      expect(seen).not.toContain('mine');
      expect(await counter(metrics, 'hezo_store_feed_notifications_total')).toBe(seen.filter((k) => k).length);
    } finally {
      await listener.close();
      await other.close();
    }
  });
});
