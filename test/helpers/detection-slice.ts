/**
 * The hub's detection path without sockets: real ingest (boundary checks, clock offsets), real registry and
 * outage module over an in-memory SQLite, on a ManualClock. `send*` publish as an agent would (topic + JSON).
 */

import Fastify from 'fastify';
import { pino } from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import { HubConfig } from '../../hub/config.ts';
import type { ClusterService, HubContext } from '../../hub/context.ts';
import { openDb } from '../../hub/db.ts';
import { HubBus } from '../../hub/events.ts';
import { Ingest } from '../../hub/ingest/ingest.ts';
import { createOutageModule, type OutageModule } from '../../hub/outage/module.ts';
import { createRegistryModule } from '../../hub/registry/module.ts';
import type { ChangeFeed } from '../../hub/store/change-feed.ts';
import type { SqlStore } from '../../hub/store/sql-store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import type { DeviceTransition, SiteAlert } from '../../hub/types.ts';
import { ManualClock } from '../../protocols/clock.ts';
import type { HealthRecord } from '../../protocols/health.ts';
import type { Heartbeat } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';

export interface DetectionSlice {
  clock: ManualClock;
  ctx: HubContext;
  ingest: Ingest;
  outage: OutageModule;
  transitions: DeviceTransition[];
  alerts: SiteAlert[];
  rejected: string[];
  sendHealth(record: HealthRecord): void;
  sendHeartbeat(hb: Heartbeat, site?: string): void;
  /** Settles once every transition detected so far is stored and announced (the store is asynchronous). */
  settle(): Promise<void>;
  metricsText(): Promise<string>;
  stop(): Promise<void>;
}

export interface SliceOptions {
  start?: string;
  detection?: Record<string, unknown>;
  dbFile?: string;
  /**
   * A hub node on a shared store (issue 16): the outage store on `sql` (e.g. PostgreSQL), other nodes' changes
   * through `changeFeed` (started here), `databaseUrl` in the config, `cluster` as this node's partition leases.
   * The registry stays in the local SQLite file.
   */
  shared?: {
    sql: SqlStore;
    changeFeed: ChangeFeed;
    databaseUrl: string;
    cluster?: ClusterService;
    partitions?: number;
  };
}

export async function startDetectionSlice(options: SliceOptions = {}): Promise<DetectionSlice> {
  const clock = new ManualClock(options.start ?? '2026-03-02T10:00:00.000Z');
  const shared = options.shared;
  const config = HubConfig.parse({
    version: 1,
    api: { token: 'admin-token-0123456789abcdef' },
    detection: options.detection ?? {},
    ...(shared === undefined
      ? {}
      : { database: { url: shared.databaseUrl }, cluster: { partitions: shared.partitions ?? 16 } }),
  });
  const bus = new HubBus((err) => {
    throw err;
  });
  const db = openDb(options.dbFile ?? ':memory:');
  const ctx: HubContext = {
    config,
    db,
    sql: shared?.sql ?? new SqliteStore(db),
    bus,
    clock,
    logger: pino({ level: 'silent' }),
    metrics: new MetricsRegistry(),
    services:
      shared === undefined
        ? {}
        : { changeFeed: shared.changeFeed, ...(shared.cluster === undefined ? {} : { cluster: shared.cluster }) },
    // never listens: the registry and outage modules register their routes on it
    http: Fastify(),
  };
  await shared?.changeFeed.start();
  const registryModule = createRegistryModule(ctx);
  const outage = createOutageModule(ctx, registryModule.registry);
  await registryModule.start?.();
  await outage.start?.();
  const ingest = new Ingest({
    bus,
    clock,
    logger: ctx.logger,
    metrics: ctx.metrics,
    detection: config.detection,
    maxMessagesPerSecond: 10_000,
    knownAgent: () => undefined,
    onReply: () => {},
  });
  const transitions: DeviceTransition[] = [];
  const alerts: SiteAlert[] = [];
  const rejected: string[] = [];
  bus.on('device-state', (t) => transitions.push(t));
  bus.on('site-alert', (a) => alerts.push(a));
  bus.on('rejected', (r) => rejected.push(r.reason));
  const source = (agentId: string) => ({ clientId: agentId, identity: undefined });
  return {
    clock,
    ctx,
    ingest,
    outage,
    transitions,
    alerts,
    rejected,
    sendHealth(record) {
      const topic = topics.health(record.site, record.agentId, record.identity.serial);
      ingest.handle(topic, Buffer.from(JSON.stringify(record)), source(record.agentId));
    },
    sendHeartbeat(hb, site = 'site-a') {
      ingest.handle(topics.heartbeat(site, hb.agentId), Buffer.from(JSON.stringify(hb)), source(hb.agentId));
    },
    settle: () => outage.idle(),
    metricsText: () => ctx.metrics.metrics(),
    async stop() {
      await shared?.changeFeed.close();
      await outage.stop?.();
      ctx.db.close();
    },
  };
}
