/**
 * `createHub(config, deps)`: the hub as an object you start and stop.
 *
 * Modules are created in this order (each may use the services of the ones before it):
 *   broker/ingest (ctx.services.commands), registry (ctx.services.registry), outage detector
 *   (ctx.services.devices), API, metrics, then OPTIONAL_MODULES (tickets, evidence, ws, influx, noc).
 * start(): every module starts in creation order, except that the network listeners open last: the MQTT
 *   broker once every consumer is ready, then HTTP. Ports 0 work; the real bound URLs are returned.
 * stop(): stop accepting (HTTP), detach detection from the bus, close MQTT, then the other modules in reverse
 *   order (they flush), then SQLite.
 */

import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import type { Logger } from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import { type Clock, systemClock } from '../protocols/clock.ts';
import { createApiModule } from './api/module.ts';
import { createBrokerModule } from './broker/module.ts';
import { knownSites } from './cluster/known-sites.ts';
import { createClusterModule } from './cluster/module.ts';
import type { HubConfig } from './config.ts';
import { redactDatabaseUrl } from './config-secrets.ts';
import type { HubContext, HubModule, HubModuleFactory } from './context.ts';
import { openDb } from './db.ts';
import { HubBus } from './events.ts';
import { createEvidenceModule } from './evidence/module.ts';
import { createIdentityModule } from './identity/module.ts';
import { createIncidentsModule } from './incidents/module.ts';
import { createInfluxModule } from './influx/module.ts';
import { createRecordLedgerModule } from './ingest/record-ledger.ts';
import { createMetricsModule } from './metrics.ts';
import { hubNodeId } from './node-id.ts';
import { createOutageModule } from './outage/module.ts';
import { createPeopleModule } from './people/module.ts';
import { createPeripheralsModule } from './peripherals/module.ts';
import { createRebootModule } from './reboot/module.ts';
import { createAdoptionModule } from './registry/adoption.ts';
import { createRegistryModule } from './registry/module.ts';
import { createReportsModule } from './reports/module.ts';
import { createRulesModule } from './rules/module.ts';
import { openChangeFeed } from './store/change-feed-open.ts';
import { openSqlStore, STORES_ON_LOCAL_SQLITE, STORES_ON_SQL } from './store/open-store.ts';
import { createTicketsModule } from './tickets/module.ts';
import { createPagesModule } from './web/pages-module.ts';
import { createWsModule } from './ws/module.ts';
import { createNocModule } from './ws/noc-module.ts';

/**
 * Colleagues' modules, created after the core, in this order (extend here when a new module lands).
 */
export const OPTIONAL_MODULES: readonly HubModuleFactory[] = [
  createTicketsModule, // consumes 'device-state', 'site-alert'; sets ctx.services.tickets
  createEvidenceModule, // consumes 'attachment-chunk'; uses ctx.services.commands and the tickets service
  createIdentityModule, // certificate / SSH host key alerts, POST /api/devices/:serial/accept-identity
  createWsModule, // GET /ws live stream
  createInfluxModule, // no-op unless config.influx
  (ctx) => createNocModule(ctx), // GET /noc/*
  (ctx) => createPagesModule(ctx), // GET /, /signin, /desk/, /portal/, /web/*, /favicon.ico, /api/calendars
  createReportsModule, // GET /api/reports/sla
  createIncidentsModule, // consumes 'site-alert', 'ingest:presence'; /api/site-incidents
  (ctx) => createRulesModule(ctx), // consumes 'health'; P3 tickets (ticket service), /api/watches
  (ctx) => createRebootModule(ctx), // consumes 'health'; 'reboot' commands, ticket notes, /api/devices/:serial/reboot
  createPeripheralsModule, // consumes 'health'; peripheral -> host links, /api/peripherals
];

export interface HubDeps {
  logger: Logger;
  clock?: Clock;
  /** SQLite file; default `<dataDir>/hezo.sqlite`. `:memory:` for tests. */
  dbFile?: string;
  /** Modules after the core; default OPTIONAL_MODULES. */
  modules?: readonly HubModuleFactory[];
}

export interface HubUrls {
  httpUrl: string;
  mqttUrl: string;
  mqttWsUrl?: string;
  mqttTlsUrl?: string;
}

export interface Hub {
  readonly ctx: HubContext;
  start(): Promise<HubUrls>;
  stop(): Promise<void>;
}

export function createHub(config: Readonly<HubConfig>, deps: HubDeps): Hub {
  const logger = deps.logger;
  const log = logger.child({ component: 'hub' });
  const bus = new HubBus((err, event) => log.error({ err, event }, 'bus listener failed'));
  const db = openDb(deps.dbFile ?? join(config.dataDir, 'hezo.sqlite'));
  const http = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
  });
  const sql = openSqlStore(config, db);
  const metrics = new MetricsRegistry();
  // other nodes' writes reach this node's in-memory views (issue 16); none without database.url
  const changeFeed = openChangeFeed(config, { sql, clock: deps.clock ?? systemClock, logger, metrics });
  const ctx: HubContext = {
    config,
    db,
    sql,
    bus,
    clock: deps.clock ?? systemClock,
    logger,
    metrics,
    services: { changeFeed },
    http,
  };

  // Before the others: which sites this node runs the duties for (issue 16), and its partition sessions.
  const cluster = createClusterModule(ctx, {
    sites: () =>
      knownSites({
        agents: config.agents,
        devices: () => registryModule.registry.list(),
        customerSites: () => registryModule.customers.sites(),
      }),
  });
  ctx.duties = cluster.duties;
  // First: its access hooks and route table must see every route the other modules add.
  const people = createPeopleModule(ctx);
  const broker = createBrokerModule(ctx, cluster.intake);
  const registryModule = createRegistryModule(ctx);
  const outage = createOutageModule(ctx, registryModule.registry);
  const modules: HubModule[] = [
    people,
    registryModule,
    createAdoptionModule(ctx, registryModule.registry),
    outage,
    // after the outage module: its line is written once the detector has the record (diagnostics.recordLedger)
    createRecordLedgerModule({
      file: config.diagnostics.recordLedger,
      node: hubNodeId(config),
      bus,
      logger: log,
    }),
    createApiModule(ctx, registryModule.registry, outage),
    createMetricsModule(ctx),
    cluster, // no-op unless database.url: partition leases in PostgreSQL, /healthz partitions
  ];
  for (const factory of deps.modules ?? OPTIONAL_MODULES) modules.push(factory(ctx));

  const started: HubModule[] = [];
  let isStopped = false;

  async function stop(): Promise<void> {
    if (isStopped) return;
    isStopped = true;
    log.info({}, 'hub stopping');
    await closeQuietly('http', () => http.close());
    // Detection first: the broker's closing runs each agent's Last Will, which must not mark devices unknown,
    // raise a site alert or add "agent offline" notes on every deploy (issue 19).
    outage.detach();
    await closeQuietly('broker', () => broker.stop());
    await closeQuietly('change feed', () => changeFeed.close()); // no other node's change reloads a closing store
    for (const module of started.splice(0).reverse()) {
      await closeQuietly(module.name, () => module.stop?.() ?? Promise.resolve());
    }
    if (sql.dialect === 'postgres') await closeQuietly('postgres', () => sql.close());
    await closeQuietly('sqlite', () => Promise.resolve(db.close()));
    log.info({}, 'hub stopped');
  }

  async function closeQuietly(name: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      log.error({ err, module: name }, 'module stop failed');
    }
  }

  return {
    ctx,
    async start() {
      try {
        if (sql.dialect === 'postgres') {
          await sql.query('SELECT 1').catch((err: unknown) => {
            // pg errors do not carry the password; the URL is shown without it
            throw new Error(
              `database: cannot use PostgreSQL at ${redactDatabaseUrl(config.database?.url ?? '')}: ${(err as Error).message}`,
              { cause: err },
            );
          });
          // Say where the stores live (issue 16 moved every one of them; a store left local would be named here).
          if (STORES_ON_LOCAL_SQLITE.length > 0) {
            log.warn(
              { inPostgres: STORES_ON_SQL, inLocalSqlite: STORES_ON_LOCAL_SQLITE },
              "database.url: some stores are still in this node's SQLite file and not shared with other hub nodes",
            );
          } else {
            log.info(
              { inPostgres: STORES_ON_SQL },
              'database.url: every store is in PostgreSQL, shared by the hub nodes',
            );
          }
        }
        await changeFeed.start(); // listening before the modules load their views: nothing written between is missed
        for (const module of modules) {
          await module.start?.();
          started.push(module);
        }
        await broker.start();
        const httpAddress = await http.listen({ host: config.http.host, port: config.http.port });
        const mqtt = broker.urls() ?? { mqttUrl: '' };
        const urls: HubUrls = { httpUrl: httpAddress, ...mqtt };
        log.info({ ...urls, modules: [broker.name, ...modules.map((m) => m.name)] }, 'hub started');
        return urls;
      } catch (err) {
        await stop();
        throw err;
      }
    },
    stop,
  };
}
