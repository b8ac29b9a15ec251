/**
 * The cluster module (issue 16): when `database.url` is set, this hub node holds partition leases in PostgreSQL
 * (lease-manager.ts), says which in `/healthz` (`ctx.services.cluster`) and exports lease figures on `/metrics`.
 * Without `database.url` it does nothing. Duties are NOT yet gated by partition (every node still runs them all)
 * and the stores are still SQLite: this is the coordination layer they will plug into.
 */
import { Counter, Gauge } from 'prom-client';
import { redactDatabaseUrl } from '../config-secrets.ts';
import type { ClusterService, HubContext, HubModule } from '../context.ts';
import { hubNodeId } from '../node-id.ts';
import { PostgresStore } from '../store/postgres-store.ts';
import { clusterTiming } from './cluster-config.ts';
import { LeaseManager } from './lease-manager.ts';

export function createClusterModule(ctx: HubContext): HubModule {
  const url = ctx.config.database?.url;
  if (url === undefined) return { name: 'cluster' };
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

  return {
    name: 'cluster',
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
    },
    async stop() {
      await manager.stop();
      await store.close();
    },
  };
}
