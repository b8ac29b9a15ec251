/**
 * Failed MQTT logins throttled per IP address and per username: after `freeAttempts` failures a key is refused
 * (without checking any password) for `baseDelayMs`, doubling with every further failure up to `maxDelayMs`.
 * A success clears the username's count; keys are forgotten after a quiet `2 * maxDelayMs`; at most MAX_KEYS
 * keys are kept (the oldest go first), so made-up usernames cannot grow memory.
 */
export interface ThrottleOptions {
  freeAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  now(): number;
}

const MAX_KEYS = 10_000;

export class LoginThrottle {
  private readonly options: ThrottleOptions;
  private readonly failures = new Map<string, { count: number; lastMs: number }>();

  constructor(options: ThrottleOptions) {
    this.options = options;
  }

  /** Ms the caller must still wait (0 = may try now). */
  blockedFor(keys: readonly string[]): number {
    const now = this.options.now();
    let wait = 0;
    for (const key of keys) {
      const entry = this.failures.get(key);
      if (entry === undefined) continue;
      if (now - entry.lastMs > 2 * this.options.maxDelayMs) {
        this.failures.delete(key);
        continue;
      }
      wait = Math.max(wait, entry.lastMs + this.delayAfter(entry.count) - now);
    }
    return Math.max(0, wait);
  }

  failure(keys: readonly string[]): void {
    const now = this.options.now();
    for (const key of keys) {
      const entry = this.failures.get(key);
      this.failures.delete(key);
      this.failures.set(key, { count: (entry?.count ?? 0) + 1, lastMs: now });
    }
    while (this.failures.size > MAX_KEYS) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
  }

  success(keys: readonly string[]): void {
    for (const key of keys) this.failures.delete(key);
  }

  get size(): number {
    return this.failures.size;
  }

  private delayAfter(count: number): number {
    const { freeAttempts, baseDelayMs, maxDelayMs } = this.options;
    if (count < freeAttempts) return 0;
    return Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(30, count - freeAttempts));
  }
}
