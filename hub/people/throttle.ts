/**
 * Sign-in throttling: failures are counted per client address and per account within `windowMs`; reaching the
 * limit locks that address or account for `lockoutMs` (even for the right password). A success clears the
 * account's count. Memory only, bounded: old entries are swept as they expire.
 */
export interface ThrottleOptions {
  now: () => number;
  maxFailuresPerIp: number;
  maxFailuresPerAccount: number;
  windowMs: number;
  lockoutMs: number;
  /** Most keys tracked per kind (oldest dropped first). */
  maxKeys?: number;
}

interface Entry {
  failures: number[];
  lockedUntil: number;
}

export const DEFAULT_THROTTLE = {
  maxFailuresPerIp: 20,
  maxFailuresPerAccount: 5,
  windowMs: 15 * 60_000,
  lockoutMs: 15 * 60_000,
} as const;

export class SignInThrottle {
  private readonly opts: ThrottleOptions;
  private readonly ips = new Map<string, Entry>();
  private readonly accounts = new Map<string, Entry>();

  constructor(opts: ThrottleOptions) {
    this.opts = opts;
  }

  /** Until when (ms) this address or account is locked, or undefined when a try is allowed. */
  lockedUntil(ip: string, account: string): number | undefined {
    const now = this.opts.now();
    const until = Math.max(this.ips.get(ip)?.lockedUntil ?? 0, this.accounts.get(account)?.lockedUntil ?? 0);
    return until > now ? until : undefined;
  }

  recordFailure(ip: string, account: string): void {
    this.bump(this.ips, ip, this.opts.maxFailuresPerIp);
    this.bump(this.accounts, account, this.opts.maxFailuresPerAccount);
  }

  recordSuccess(account: string): void {
    this.accounts.delete(account);
  }

  private bump(map: Map<string, Entry>, key: string, max: number): void {
    const now = this.opts.now();
    const entry = map.get(key) ?? { failures: [], lockedUntil: 0 };
    entry.failures = entry.failures.filter((t) => t > now - this.opts.windowMs);
    entry.failures.push(now);
    if (entry.failures.length >= max) {
      entry.lockedUntil = now + this.opts.lockoutMs;
      entry.failures = [];
    }
    map.delete(key);
    map.set(key, entry);
    const maxKeys = this.opts.maxKeys ?? 100_000;
    while (map.size > maxKeys) {
      const oldest = map.keys().next().value as string;
      map.delete(oldest);
    }
  }
}
