/**
 * The change feed on PostgreSQL (issue 16): LISTEN/NOTIFY on one channel (`hezo_changes`), payload
 * `{store, key?, node}`. One dedicated connection LISTENs (not a pool's: a pooled connection changes hands);
 * when it is lost (server restart, `pg_terminate_backend`, a failed ping on a silent network cut) it reconnects
 * with backoff and then tells every subscriber to reload fully, because whatever was sent meanwhile is lost.
 * A node ignores its own notifications (its `node` in the payload): its views changed when it wrote.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../../protocols/clock.ts';
import {
  CHANGE_CHANNEL,
  type ChangeFeed,
  type ChangeHandler,
  ChangeSubscribers,
  decodeChange,
  encodeChange,
} from './change-feed.ts';
import type { SqlStore } from './sql-store.ts';

export interface PgChangeFeedOptions {
  url: string;
  /** Who writes (with a per-process suffix so a node never mistakes another process for itself). */
  node: string;
  /** Where `notify` sends when it is not given a transaction. */
  sql: SqlStore;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  /** Reconnect backoff: first wait, doubled per failure up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** The listening connection is checked this often (a silent network cut sends no error). */
  pingMs?: number;
}

export class PgChangeFeed implements ChangeFeed {
  private readonly options: PgChangeFeedOptions;
  private readonly log: Logger;
  private readonly subscribers: ChangeSubscribers;
  private readonly received: Counter<'store'>;
  private readonly reconnects: Counter;
  private readonly reloads: Counter<'store'>;
  private client: pg.Client | undefined;
  private isClosed = false;
  private failures = 0;
  private cancelTimer: (() => void) | undefined;

  constructor(options: PgChangeFeedOptions) {
    this.options = options;
    this.log = options.logger.child({ component: 'change-feed' });
    this.subscribers = new ChangeSubscribers(
      (err, store) => this.log.error({ err, store }, 'change feed subscriber failed'),
      (store) => this.reloads.labels(store).inc(),
    );
    this.received = new Counter({
      name: 'hezo_store_feed_notifications_total',
      help: "Changes of another hub node received through the store's change feed, by store",
      labelNames: ['store'],
      registers: [options.metrics],
    });
    this.reloads = new Counter({
      name: 'hezo_store_feed_reloads_total',
      help: "Reloads of a view done for another node's change (or after a reconnect), by store",
      labelNames: ['store'],
      registers: [options.metrics],
    });
    this.reconnects = new Counter({
      name: 'hezo_store_feed_reconnects_total',
      help: 'Times the change feed connection was lost and made again (every view then reloads fully)',
      registers: [options.metrics],
    });
  }

  /** Listens before the stores load their views, so nothing written in between is missed. */
  async start(): Promise<void> {
    this.client = await this.connect();
    this.schedulePing();
  }

  subscribe(store: string, onChange: ChangeHandler): () => void {
    return this.subscribers.add(store, onChange);
  }

  async notify(store: string, key?: string, tx?: SqlStore): Promise<void> {
    const payload = encodeChange({ store, node: this.options.node, ...(key !== undefined ? { key } : {}) });
    const send = (target: SqlStore) => target.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, payload]);
    if (tx !== undefined) {
      await send(tx);
      return;
    }
    await send(this.options.sql).catch((err: unknown) => {
      this.log.error({ err, store }, 'change not announced to the other hub nodes (they see it on their next reload)');
    });
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.cancelTimer?.();
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await this.endWithin(client, this.options.pingMs ?? 5_000);
  }

  /** `end()` waits for the server's goodbye, which never comes through a silent cut: then drop the socket. */
  private async endWithin(client: pg.Client, ms: number): Promise<void> {
    let cancel = (): void => {};
    const isEnded = await Promise.race([
      client.end().then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        cancel = this.options.clock.setTimer(ms, () => resolve(false));
      }),
    ]);
    cancel();
    if (!isEnded)
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }

  private async connect(): Promise<pg.Client> {
    const pingMs = this.options.pingMs ?? 5_000;
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: `hezo-feed-${this.options.node}`.slice(0, 63),
      keepAlive: true,
      query_timeout: pingMs,
      connectionTimeoutMillis: pingMs,
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, undefined));
    // a connection given up on (a failed ping) may still deliver what it held: only the current one counts
    client.on('notification', (message) => {
      if (this.client === client) this.receive(message.channel, message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (err) {
      await this.endWithin(client, pingMs);
      throw err;
    }
    return client;
  }

  private receive(channel: string, payload: string | undefined): void {
    if (channel !== CHANGE_CHANNEL) return;
    const change = decodeChange(payload);
    if (change === undefined) {
      this.log.warn({ length: payload?.length ?? 0 }, 'change feed: a payload that is not a change, ignored');
      return;
    }
    if (change.node === this.options.node) return;
    this.received.labels(change.store).inc();
    this.subscribers.emit(change.store, change.key);
  }

  private lost(client: pg.Client, err: Error | undefined): void {
    if (this.isClosed || this.client !== client) return;
    this.client = undefined;
    this.log.warn({ err: err?.message }, 'change feed connection lost; reconnecting');
    void this.endWithin(client, this.options.pingMs ?? 5_000);
    this.cancelTimer?.();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const min = this.options.minBackoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 5_000;
    const wait = Math.min(max, min * 2 ** Math.min(this.failures, 20));
    this.cancelTimer = this.options.clock.setTimer(wait, () => void this.reconnect());
  }

  private async reconnect(): Promise<void> {
    if (this.isClosed) return;
    let client: pg.Client;
    try {
      client = await this.connect();
    } catch (err) {
      this.failures++;
      this.log.warn({ err: (err as Error).message, failures: this.failures }, 'change feed: reconnect failed');
      if (!this.isClosed) this.scheduleReconnect();
      return;
    }
    if (this.isClosed) {
      await this.endWithin(client, this.options.pingMs ?? 5_000);
      return;
    }
    this.client = client;
    this.failures = 0;
    this.reconnects.inc();
    this.log.info({}, 'change feed reconnected; every view reloads');
    this.subscribers.emitAll();
    this.schedulePing();
  }

  /** A query on the listening connection: a cut that sent no error shows as a timeout (then `lost`). */
  private schedulePing(): void {
    const pingMs = this.options.pingMs ?? 5_000;
    this.cancelTimer = this.options.clock.setTimer(pingMs, () => {
      const client = this.client;
      if (client === undefined || this.isClosed) return;
      client.query('SELECT 1').then(
        () => {
          if (this.client === client && !this.isClosed) this.schedulePing();
        },
        (err: unknown) => this.lost(client, err as Error),
      );
    });
  }
}
