/**
 * InfluxDB 1.x history writer: health metrics, state transitions, ticket and SLA events from the hub bus.
 * A no-op module when `config.influx` is unset (the hub works without InfluxDB).
 * Schema: protocols/metrics-schema.ts; documented in dashboards/README.md.
 */
import { FieldType, InfluxDB, type IPoolOptions, type ISchemaOptions } from 'influx';
import { type FieldKind, METRICS } from '../../protocols/metrics-schema.ts';
import type { HubConfig } from '../config.ts';
import type { HubContext, HubModule } from '../context.ts';
import { healthPoints, siteAlertPoint, slaPoint, ticketPoint, transitionPoint } from './points.ts';
import { InfluxBatchWriter, type PointSink } from './writer.ts';

export interface InfluxModule extends HubModule {
  /** Undefined when InfluxDB is not configured. */
  readonly writer: InfluxBatchWriter | undefined;
}

const FIELD_TYPES: Record<FieldKind, FieldType> = {
  float: FieldType.FLOAT,
  integer: FieldType.INTEGER,
  string: FieldType.STRING,
  boolean: FieldType.BOOLEAN,
};

/** The writer owns retries and backoff: node-influx's pool must neither retry nor disable the host. */
type BackoffStrategy = NonNullable<IPoolOptions['backoff']>;
const NO_POOL_BACKOFF: BackoffStrategy = {
  getDelay: () => 0,
  next: () => NO_POOL_BACKOFF,
  reset: () => NO_POOL_BACKOFF,
};

export function influxSchema(database: string): ISchemaOptions[] {
  return Object.values(METRICS).map((m) => ({
    database,
    measurement: m.name,
    tags: [...m.tags],
    fields: Object.fromEntries(Object.entries(m.fields).map(([name, kind]) => [name, FIELD_TYPES[kind]])),
  }));
}

export function createInfluxClient(cfg: NonNullable<HubConfig['influx']>, requestTimeoutMs = 10_000): InfluxDB {
  const url = new URL(cfg.url);
  return new InfluxDB({
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 8086)),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    database: cfg.database,
    ...(cfg.username !== undefined ? { username: cfg.username } : {}),
    ...(cfg.password !== undefined ? { password: cfg.password } : {}),
    schema: influxSchema(cfg.database),
    pool: { maxRetries: 0, requestTimeout: requestTimeoutMs, backoff: NO_POOL_BACKOFF },
  });
}

export function createInfluxModule(ctx: HubContext): InfluxModule {
  const cfg = ctx.config.influx;
  if (cfg === undefined) return { name: 'influx', writer: undefined };
  const log = ctx.logger.child({ component: 'influx' });
  const influx = createInfluxClient(cfg);
  const sink: PointSink = {
    async ensureDatabase() {
      const names = await influx.getDatabaseNames();
      if (!names.includes(cfg.database)) {
        await influx.createDatabase(cfg.database);
        log.info({ database: cfg.database }, 'influx database created');
      }
    },
    write: (points) => influx.writePoints(points, { database: cfg.database, precision: 'n' }),
  };
  const writer = new InfluxBatchWriter({
    sink,
    clock: ctx.clock,
    logger: log,
    metrics: ctx.metrics,
    batchSize: cfg.batchSize,
    flushIntervalMs: cfg.flushIntervalMs,
    maxQueue: cfg.maxQueue,
    retryMaxMs: cfg.retryMaxMs,
  });
  const unsubscribe: Array<() => void> = [];
  /** Sub-millisecond counter for event points (see points.ts). */
  let eventCounter = 0;
  const nextSub = () => {
    eventCounter = (eventCounter + 1) % 1_000_000;
    return eventCounter;
  };

  return {
    name: 'influx',
    writer,
    async start() {
      const { bus } = ctx;
      unsubscribe.push(
        bus.on('health', ({ record }) => writer.enqueue(healthPoints(record))),
        bus.on('device-state', (t) => writer.enqueue([transitionPoint(t)])),
        bus.on('ticket', ({ ticket, change }) =>
          writer.enqueue([ticketPoint(ticket, change, ctx.clock.now(), nextSub())]),
        ),
        bus.on('sla', (event) => writer.enqueue([slaPoint(event, nextSub())])),
        bus.on('site-alert', (alert) => writer.enqueue([siteAlertPoint(alert, nextSub())])),
      );
      writer.start();
    },
    async stop() {
      for (const off of unsubscribe.splice(0)) off();
      await writer.stop();
    },
  };
}
