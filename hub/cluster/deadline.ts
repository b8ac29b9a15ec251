/**
 * Local lease deadlines (issue 16). The database sets a lease's end as `clock_timestamp() + leaseMs` when the renew
 * statement runs, which is never before the node SENT it. So a node that counts `leaseMs - marginMs` from the moment
 * it sent its last successful renew (on its monotonic clock) stops acting before the database lets anyone else in,
 * whatever the two wall clocks say; the margin covers clock rate differences and the time to stop.
 */

export interface LeaseTiming {
  leaseMs: number;
  renewMs: number;
  marginMs: number;
}

/** Monotonic instant after which the node must no longer act for a lease renewed by a request sent at `sentAtMs`. */
export function localDeadline(sentAtMs: number, timing: Pick<LeaseTiming, 'leaseMs' | 'marginMs'>): number {
  return sentAtMs + timing.leaseMs - timing.marginMs;
}

/** Default safety margin: a fifth of the lease, at least 100 ms, and always leaving room for one renew. */
export function defaultMarginMs(leaseMs: number, renewMs: number): number {
  return Math.max(100, Math.min(Math.floor(leaseMs / 5), leaseMs - 2 * renewMs));
}

/** Why a timing cannot work, or undefined when it can. */
export function timingProblem(timing: LeaseTiming): string | undefined {
  if (timing.renewMs * 3 > timing.leaseMs) {
    return `renewMs (${timing.renewMs}) must be at most a third of leaseMs (${timing.leaseMs}): a lease must survive two failed renews`;
  }
  if (timing.marginMs <= 0 || timing.marginMs >= timing.leaseMs - timing.renewMs) {
    return `marginMs (${timing.marginMs}) must be above 0 and below leaseMs - renewMs (${timing.leaseMs - timing.renewMs})`;
  }
  return undefined;
}

/** The earliest of the deadlines, or undefined when there is none. */
export function nextDeadline(deadlines: Iterable<number>): number | undefined {
  let earliest: number | undefined;
  for (const d of deadlines) if (earliest === undefined || d < earliest) earliest = d;
  return earliest;
}

/** Partitions whose deadline has passed at `nowMs` (a deadline equal to now has passed). */
export function expiredAt(deadlines: ReadonlyMap<number, number>, nowMs: number): number[] {
  return [...deadlines]
    .filter(([, d]) => d <= nowMs)
    .map(([p]) => p)
    .sort((a, b) => a - b);
}
