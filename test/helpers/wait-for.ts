/** Await a condition or an event with a deadline (no fixed sleeps in tests). */
import type { HubBus, HubEventMap, HubEventName } from '../../hub/events.ts';

/**
 * Re-check `predicate` (on a short timer) until it returns a truthy value, or fail after `timeoutMs`. `what` names
 * the wait in the failure; a function is read at failure time (for output gathered while waiting).
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  {
    timeoutMs = 5000,
    intervalMs = 10,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The next bus event matching `predicate`, or fail after `timeoutMs`. Subscribe BEFORE causing the event. */
export function nextBusEvent<E extends HubEventName>(
  bus: HubBus,
  event: E,
  predicate: (...args: HubEventMap[E]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<HubEventMap[E][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for bus event ${event}`));
    }, timeoutMs);
    const off = bus.on(event, (...args) => {
      if (!predicate(...args)) return;
      clearTimeout(timer);
      off();
      resolve(args[0]);
    });
  });
}

/** Resolve with the value of a promise or fail after `timeoutMs`. */
export async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
