/**
 * Partitions of the hub's work (issue 16): a site belongs to partition `hash(site) mod N`; each live node aims at its
 * fair share of the N partitions. Pure: no I/O, no clock.
 */

/** FNV-1a 32-bit over the UTF-8 bytes: stable across nodes, versions and platforms. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The partition of a site (0 .. partitions-1). */
export function partitionOf(site: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new Error(`partitions: expected >= 1, got ${partitions}`);
  return stableHash(site) % partitions;
}

/** The sites (of `sites`) that fall into `partition`, sorted, without duplicates. */
export function sitesOfPartition(sites: Iterable<string>, partition: number, partitions: number): string[] {
  return [...new Set(sites)].filter((s) => partitionOf(s, partitions) === partition).sort();
}

/** Most partitions one node should hold: ceil(N / live nodes). */
export function fairShare(partitions: number, liveNodes: number): number {
  return Math.ceil(partitions / Math.max(1, liveNodes));
}

/**
 * The order in which `node` prefers partitions (rendezvous hashing): different nodes prefer different partitions,
 * so nodes starting together rarely race for the same rows, and a node gets the same ones back after a restart.
 */
export function preferenceOrder(node: string, partitions: readonly number[]): number[] {
  return [...partitions].sort((a, b) => stableHash(`${node}/${b}`) - stableHash(`${node}/${a}`) || a - b);
}

export interface LeaseRow {
  partition: number;
  holder: string | null;
  /** The lease has not ended (by the database's clock). */
  isLive: boolean;
}

export interface RebalanceInput {
  node: string;
  partitions: number;
  /** Partitions this node holds now (by its own, stricter, local deadline). */
  held: readonly number[];
  /** Nodes whose heartbeat has not expired, this one included. */
  liveNodes: readonly string[];
  leases: readonly LeaseRow[];
}

export interface RebalancePlan {
  acquire: number[];
  release: number[];
}

/**
 * What this node should take and give up now. hi = ceil(N/L), lo = floor(N/L): take free or expired partitions up to
 * hi; give up those above hi; and while another live node holds fewer than lo (it just joined), hold at most lo
 * (give up the rest, take no more) so it can take them on its next renew (no partition is without a holder longer
 * than one renew interval).
 */
export function planRebalance(input: RebalanceInput): RebalancePlan {
  const live = new Set(input.liveNodes);
  live.add(input.node);
  const hi = fairShare(input.partitions, live.size);
  const lo = Math.floor(input.partitions / live.size);
  const held = new Set(input.held);
  const order = preferenceOrder(input.node, [...held]);
  const counts = new Map<string, number>([...live].map((n) => [n, 0]));
  for (const row of input.leases) {
    if (row.isLive && row.holder !== null && row.holder !== input.node && counts.has(row.holder)) {
      counts.set(row.holder, (counts.get(row.holder) ?? 0) + 1);
    }
  }
  counts.set(input.node, held.size);
  const isSomeoneStarving = [...counts].some(([n, c]) => n !== input.node && c < lo);
  const keep = isSomeoneStarving ? Math.max(lo, 1) : hi;
  if (held.size > keep) return { acquire: [], release: order.slice(keep).sort((a, b) => a - b) };
  if (held.size >= keep) return { acquire: [], release: [] };
  const free = input.leases
    .filter((r) => r.partition < input.partitions && !held.has(r.partition))
    .filter((r) => r.holder === null || !r.isLive || r.holder === input.node)
    .map((r) => r.partition);
  return { acquire: preferenceOrder(input.node, free).slice(0, keep - held.size), release: [] };
}
