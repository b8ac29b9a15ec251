/**
 * The cluster module (issue 16): when `database.url` is set, this hub node holds partition leases in PostgreSQL
 * (lease-manager.ts), says which in `/healthz` (`ctx.services.cluster`) and exports lease figures on `/metrics`.
 * Without `database.url` it does nothing and this node holds every site.
 *
 * It also gives the hub `duties` (partition-duties.ts: which sites this node runs the automatic duties for) and, with
 * `mqtt.mode: external`, the `intake` (partition-intake.ts: the persistent MQTT sessions of the partitions held,
 * which replace the hub-wide subscription; the broker module starts and stops it).
 */
import { Counter, Gauge } from 'prom-client';
import { brokerUrls } from '../../protocols/mqtt-failover.ts';
import { redactDatabaseUrl } from '../config-secrets.ts';
import type { ClusterService, HubContext, HubModule } from '../context.ts';
import { hubNodeId } from '../node-id.ts';
import { PostgresStore } from '../store/postgres-store.ts';
import { clusterTiming } from './cluster-config.ts';
import { LeaseManager } from './lease-manager.ts';
import { leaseDuties, type PartitionDuties, SINGLE_NODE_DUTIES } from './partition-duties.ts';
import { PartitionIntake } from './partition-intake.ts';

export interface ClusterModule extends HubModule {
  readonly duties: PartitionDuties;
  /** With `database.url` and `mqtt.mode: external`: the record intake by partition. */
  readonly intake: PartitionIntake | undefined;
}

export interface ClusterDeps {
  /** Every site the registry knows (the partition sessions subscribe to those of their partition). */
  sites(): readonly string[];
}

/** How often the partition sessions look for new sites. */
const SITE_REFRESH_MS = 5_000;

export function createClusterModule(ctx: HubContext, deps: ClusterDeps): ClusterModule {
  const url = ctx.config.database?.url;
  if (url === undefined) return { name: 'cluster', duties: SINGLE_NODE_DUTIES, intake: undefined };
  const node = hubNodeId(ctx.config);
  const timing = clusterTiming(ctx.config.cluster);
  const log = ctx.logger.child({ component: 'cluster' });
  // every store that makes fenced writes needs the idle-in-transaction limit (a cut writer must not keep its row lock)
  const store = new PostgresStore(url, {
    max: 4,
    queryTimeoutMs: timing.renewMs,
    connectTimeoutMs: timing.renewMs,
    idleInTransactionTimeoutMs: timing.renewMs,
  });
  const manager = new LeaseManager({
    node,
    partitions: ctx.config.cluster.partitions,
    store,
    clock: ctx.clock,
    logger: ctx.logger,
    ...timing,
  });

  const registers = [ctx.metrics];
  new Gauge({
    name: 'hezo_cluster_partitions_held',
    help: 'Partitions this hub node holds a lease on now',
    registers,
    collect() {
      this.set(manager.heldLeases().length);
    },
  });
  new Gauge({
    name: 'hezo_cluster_live_nodes',
    help: 'Hub nodes with a live heartbeat, as last read from the database',
    registers,
    collect() {
      this.set(manager.liveNodes);
    },
  });
  const acquisitions = new Counter({
    name: 'hezo_cluster_acquisitions_total',
    help: 'Partition leases this node acquired (each bumps the partition fencing epoch)',
    registers,
  });
  const takeovers = new Counter({
    name: 'hezo_cluster_takeovers_total',
    help: 'Acquisitions of a partition whose lease another node had not released (it died or was cut off)',
    registers,
  });
  const losses = new Counter({
    name: 'hezo_cluster_partitions_lost_total',
    help: 'Partitions this node stopped acting for, by reason',
    labelNames: ['reason'],
    registers,
  });
  const renewFailures = new Counter({
    name: 'hezo_cluster_lease_renew_failures_total',
    help: 'Lease renew rounds that failed (PostgreSQL unreachable, slow or refusing)',
    registers,
  });
  manager.on('acquired', (_partition, _epoch, previous) => {
    acquisitions.inc();
    if (previous !== null && previous !== node) takeovers.inc();
  });
  manager.on('lost', (_partition, reason) => losses.labels(reason).inc());
  manager.on('renewFailed', () => renewFailures.inc());

  const service: ClusterService = {
    health: () => ({
      node,
      partitions: manager.heldLeases().map((l) => l.partition),
      liveNodes: manager.liveNodes,
    }),
    epochOf: (partition) => manager.epochOf(partition),
  };
  ctx.services.cluster = service;
  const duties = leaseDuties(manager, ctx.config.cluster.partitions);
  const intake = ctx.config.mqtt.mode === 'external' ? createIntake(ctx, manager, deps) : undefined;

  return {
    name: 'cluster',
    duties,
    intake,
    async start() {
      try {
        await manager.start();
      } catch (err) {
        // pg errors do not carry the password; the URL is shown without it
        throw new Error(`cluster: cannot use PostgreSQL at ${redactDatabaseUrl(url)}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      log.info({ node, partitions: service.health().partitions, ...timing }, 'cluster node started');
      if (intake === undefined) {
        log.warn(
          {},
          "cluster with the embedded broker: this node's agents are only watched while it holds their sites' partitions; use mqtt.mode external (one broker or broker cluster for every node)",
        );
      }
    },
    async stop() {
      await manager.stop();
      await store.close();
    },
  };
}

function createIntake(ctx: HubContext, manager: LeaseManager, deps: ClusterDeps): PartitionIntake {
  const { mqtt } = ctx.config;
  const urls = brokerUrls(mqtt);
  if (urls.length === 0) urls.push(`mqtt://${mqtt.host}:${mqtt.port}`);
  return new PartitionIntake({
    manager,
    partitions: ctx.config.cluster.partitions,
    urls,
    username: mqtt.username,
    password: mqtt.password,
    reconnectMs: mqtt.reconnectMinMs,
    maxMessagesPerSecond: mqtt.maxMessagesPerSecond,
    refreshMs: SITE_REFRESH_MS,
    sites: deps.sites,
    clock: ctx.clock,
    logger: ctx.logger,
    metrics: ctx.metrics,
  });
}
