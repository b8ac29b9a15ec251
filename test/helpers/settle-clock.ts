/**
 * Move a ManualClock forward when what its timers start is async (issue 16: the ticket store and the SLA monitor):
 * step to each due timer in time order, fire it, let the work it started settle, then the next, as
 * `ManualClock.advance` does for synchronous work. Without it, a timer re-armed by async work after `advance`
 * returned would fire late (at the target time instead of its own).
 */
import type { ManualClock } from '../../protocols/clock.ts';

/** The earliest timer due at or before `target` (ManualClock keeps its timers private). */
function nextDue(clock: ManualClock, target: number): number | undefined {
  const timers = (clock as unknown as { timers: Map<number, { at: number }> }).timers;
  let next: number | undefined;
  for (const t of timers.values()) if (t.at <= target && (next === undefined || t.at < next)) next = t.at;
  return next;
}

export async function advanceSettled(clock: ManualClock, ms: number, settle: () => Promise<void>): Promise<void> {
  const target = clock.monotonicNow() + ms;
  await settle();
  for (let at = nextDue(clock, target); at !== undefined; at = nextDue(clock, target)) {
    clock.advance(Math.max(0, at - clock.monotonicNow()));
    await settle();
  }
  clock.advance(Math.max(0, target - clock.monotonicNow()));
  await settle();
}
