/**
 * The `database` and `cluster` sections of the hub config (issue 16). With `database.url` (or HEZO_DATABASE_URL)
 * set, the hub takes part in a cluster of hub nodes: it holds partition leases in that PostgreSQL (hub/cluster).
 */
import { z } from 'zod';
import { defaultMarginMs, timingProblem } from './deadline.ts';

export const DatabaseConfig = z.strictObject({
  /** `postgres://user:password@host:port/database` (best from HEZO_DATABASE_URL: it holds a password; never logged). */
  url: z.string().regex(/^postgres(ql)?:\/\/[^\s]+$/, 'expected postgres://user:password@host:port/database'),
  /**
   * A query of the stores that gets no answer in this long fails (its connection is discarded) instead of waiting
   * for ever behind a cut network link; the stores' ordered writes then retry, and say so.
   */
  queryTimeoutMs: z.number().int().min(1000).max(3_600_000).default(60_000),
  /** A connection attempt to PostgreSQL gives up after this long. */
  connectTimeoutMs: z.number().int().min(500).max(600_000).default(10_000),
  /**
   * The server ends a session that sits idle inside a transaction this long (a node cut off mid-transaction must
   * not hold row locks until TCP gives up, which can take hours).
   */
  idleInTransactionTimeoutMs: z.number().int().min(1000).max(3_600_000).default(60_000),
});
export type DatabaseConfig = z.infer<typeof DatabaseConfig>;

export const ClusterConfig = z
  .strictObject({
    /** Sites are split into this many partitions (hash of the site id); every node of a cluster must agree. */
    partitions: z.number().int().min(1).max(1024).default(16),
    /** A partition's lease (database clock): a dead or cut-off node's partitions are taken over after this long. */
    leaseMs: z.number().int().min(300).max(600_000).default(10_000),
    /** How often a node renews its leases and heartbeat (at most a third of leaseMs). */
    renewMs: z.number().int().min(100).max(200_000).default(2_000),
    /**
     * A node that cannot renew stops acting this long BEFORE its lease ends in the database (counted from when its
     * last successful renew was sent). Default: a fifth of leaseMs, at least 100 ms.
     */
    marginMs: z.number().int().min(1).optional(),
  })
  .superRefine((c, ctx) => {
    const problem = timingProblem({ ...c, marginMs: c.marginMs ?? defaultMarginMs(c.leaseMs, c.renewMs) });
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: problem, path: [c.marginMs !== undefined ? 'marginMs' : 'renewMs'] });
    }
  });
export type ClusterConfig = z.infer<typeof ClusterConfig>;

/** The cluster timing with the margin filled in. */
export function clusterTiming(config: ClusterConfig): { leaseMs: number; renewMs: number; marginMs: number } {
  return {
    leaseMs: config.leaseMs,
    renewMs: config.renewMs,
    marginMs: config.marginMs ?? defaultMarginMs(config.leaseMs, config.renewMs),
  };
}
