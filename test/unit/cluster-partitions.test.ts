/**
 * Issue 16, pure parts of the cluster: site -> partition hashing, fair share, the rebalance plan (simulated over many
 * random clusters until it settles), and the local lease deadline arithmetic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultMarginMs, expiredAt, localDeadline, nextDeadline, timingProblem } from '../../hub/cluster/deadline.ts';
import {
  fairShare,
  type LeaseRow,
  partitionOf,
  planRebalance,
  preferenceOrder,
  sitesOfPartition,
  stableHash,
} from '../../hub/cluster/partitions.ts';

describe('partitions', () => {
  it('a site always maps to the same partition, within range (known values pin the hash)', () => {
    expect(stableHash('')).toBe(0x811c9dc5);
    expect(stableHash('a')).toBe(0xe40c292c);
    expect(stableHash('foobar')).toBe(0xbf9cf968);
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 256 }), (site, n) => {
        const p = partitionOf(site, n);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(n);
        expect(partitionOf(site, n)).toBe(p);
      }),
    );
    expect(() => partitionOf('krakow', 0)).toThrow(/partitions: expected >= 1/);
  });

  it('sites spread over the partitions (200 sites over 16: none empty, none above 3x the mean)', () => {
    const sites = Array.from({ length: 200 }, (_, i) => `site-${i}`);
    const counts = new Array<number>(16).fill(0);
    for (const s of sites) counts[partitionOf(s, 16)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect(Math.max(...counts)).toBeLessThan((3 * 200) / 16);
    const all = Array.from({ length: 16 }, (_, k) => sitesOfPartition([...sites, 'site-1'], k, 16)).flat();
    expect(all.sort()).toEqual([...sites].sort());
  });

  it('fair share is ceil(N / live nodes), one node when none is live', () => {
    expect(fairShare(16, 1)).toBe(16);
    expect(fairShare(16, 2)).toBe(8);
    expect(fairShare(16, 3)).toBe(6);
    expect(fairShare(16, 5)).toBe(4);
    expect(fairShare(16, 0)).toBe(16);
    expect(fairShare(3, 7)).toBe(1);
  });

  it('preference order is a permutation, differs between nodes, and is stable', () => {
    const ps = Array.from({ length: 16 }, (_, i) => i);
    const a = preferenceOrder('hub-a', ps);
    expect([...a].sort((x, y) => x - y)).toEqual(ps);
    expect(preferenceOrder('hub-a', [...ps].reverse())).toEqual(a);
    expect(preferenceOrder('hub-b', ps)).not.toEqual(a);
  });
});

/** Lease table of a simulated cluster: partition -> holder. */
function simulate(n: number, nodes: string[], start: Map<number, string>, order: (round: number) => string[]) {
  const table = new Map(start);
  const rows = (): LeaseRow[] =>
    Array.from({ length: n }, (_, p) => ({ partition: p, holder: table.get(p) ?? null, isLive: table.has(p) }));
  let rounds = 0;
  for (; rounds < 20; rounds++) {
    let isChanged = false;
    for (const node of order(rounds)) {
      const held = [...table].filter(([, h]) => h === node).map(([p]) => p);
      const plan = planRebalance({ node, partitions: n, held, liveNodes: nodes, leases: rows() });
      for (const p of plan.release) {
        expect(table.get(p)).toBe(node);
        table.delete(p);
        isChanged = true;
      }
      for (const p of plan.acquire) {
        // the database refuses a live lease of another node: the plan must never ask for one
        expect(table.get(p) ?? node).toBe(node);
        table.set(p, node);
        isChanged = true;
      }
    }
    if (!isChanged) break;
  }
  return { table, rounds };
}

describe('rebalance plan', () => {
  it('from any start, every partition ends held, each live node between floor and ceil of N/L, within 3 rounds (a round = one renew interval)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 64 }),
        fc.integer(),
        (n, nodeCount, startHolders, seed) => {
          const nodes = Array.from({ length: nodeCount }, (_, i) => `hub-${i}`);
          // start: any assignment (index >= nodeCount = a dead node's lease that expired, i.e. free)
          const start = new Map<number, string>();
          startHolders.slice(0, n).forEach((h, p) => {
            if (h < nodeCount) start.set(p, `hub-${h}`);
          });
          const order = (round: number) =>
            [...nodes].sort((a, b) => stableHash(`${seed}/${round}/${a}`) - stableHash(`${seed}/${round}/${b}`));
          const { table, rounds } = simulate(n, nodes, start, order);
          expect(table.size).toBe(n);
          const counts = nodes.map((node) => [...table.values()].filter((h) => h === node).length);
          const hi = Math.ceil(n / nodeCount);
          const lo = Math.floor(n / nodeCount);
          for (const c of counts) {
            expect(c).toBeLessThanOrEqual(hi);
            // a node may sit one below floor only when the cluster has fewer partitions than nodes
            expect(c).toBeGreaterThanOrEqual(Math.min(lo, 1) === 0 ? 0 : lo);
          }
          expect(rounds).toBeLessThanOrEqual(3);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a joining node makes the others give up exactly down to floor(N/L) (16 -> 2 nodes: 8 released)', () => {
    const leases = Array.from({ length: 16 }, (_, p) => ({ partition: p, holder: 'a', isLive: true }));
    const plan = planRebalance({
      node: 'a',
      partitions: 16,
      held: leases.map((l) => l.partition),
      liveNodes: ['a', 'b'],
      leases,
    });
    expect(plan.acquire).toEqual([]);
    expect(plan.release).toHaveLength(8);
    const forB = planRebalance({ node: 'b', partitions: 16, held: [], liveNodes: ['a', 'b'], leases });
    expect(forB).toEqual({ acquire: [], release: [] });
  });

  it('takes the expired leases of a dead node, never the live ones of another', () => {
    const leases: LeaseRow[] = Array.from({ length: 4 }, (_, p) => ({
      partition: p,
      holder: p < 2 ? 'dead' : 'b',
      isLive: p >= 2,
    }));
    const plan = planRebalance({ node: 'a', partitions: 4, held: [], liveNodes: ['a', 'b'], leases });
    expect(plan.acquire.sort()).toEqual([0, 1]);
  });
});

describe('local lease deadline', () => {
  const timing = { leaseMs: 10_000, renewMs: 2_000, marginMs: 2_000 };

  it('counts from when the renew was SENT, minus the margin', () => {
    expect(localDeadline(5_000, timing)).toBe(13_000);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: 300, max: 600_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        (sentAt, leaseMs, latencyMs) => {
          const renewMs = Math.floor(leaseMs / 3);
          const marginMs = defaultMarginMs(leaseMs, renewMs);
          expect(timingProblem({ leaseMs, renewMs, marginMs })).toBeUndefined();
          // the database starts the lease no earlier than the send: it ends at sentAt + latency + leaseMs at least
          const databaseEnd = sentAt + latencyMs + leaseMs;
          expect(localDeadline(sentAt, { leaseMs, marginMs })).toBeLessThan(databaseEnd);
          expect(localDeadline(sentAt, { leaseMs, marginMs })).toBeGreaterThan(sentAt + renewMs);
        },
      ),
    );
  });

  it('timings where renew is not well under the lease, or the margin leaves no room, are named', () => {
    expect(timingProblem(timing)).toBeUndefined();
    expect(timingProblem({ ...timing, renewMs: 4_000 })).toMatch(/renewMs \(4000\) must be at most a third/);
    expect(timingProblem({ ...timing, marginMs: 8_000 })).toMatch(
      /marginMs \(8000\) must be above 0 and below leaseMs - renewMs \(8000\)/,
    );
    expect(timingProblem({ ...timing, marginMs: 0 })).toMatch(/marginMs \(0\)/);
    expect(defaultMarginMs(10_000, 2_000)).toBe(2_000);
    expect(defaultMarginMs(300, 100)).toBe(100);
  });

  it('finds the earliest deadline and those that passed (equal = passed)', () => {
    expect(nextDeadline([])).toBeUndefined();
    expect(nextDeadline([30, 10, 20])).toBe(10);
    const deadlines = new Map([
      [3, 100],
      [1, 50],
      [2, 101],
    ]);
    expect(expiredAt(deadlines, 100)).toEqual([1, 3]);
    expect(expiredAt(deadlines, 49)).toEqual([]);
  });
});
