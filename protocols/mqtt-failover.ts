/**
 * Several broker URLs (`mqtt.urls`), shared by agent and hub: which URL to try next after a failure, and how long
 * to wait before trying it. Each failure moves to the next URL; the back-off doubles after every full round over
 * the list (from `minMs` up to `maxMs`, with jitter between half and all of it) and starts again on a connect.
 * Pure: no timers, no sockets.
 */

export interface FailoverOptions {
  urls: readonly string[];
  minMs: number;
  maxMs: number;
  /** [0, 1); injected for tests. */
  random?: () => number;
}

export class BrokerFailover {
  private readonly urls: readonly string[];
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private index = 0;
  private failuresInRow = 0;

  constructor(options: FailoverOptions) {
    if (options.urls.length === 0) throw new Error('broker failover: expected at least one URL, got none');
    this.urls = [...options.urls];
    this.minMs = options.minMs;
    this.maxMs = Math.max(options.minMs, options.maxMs);
    this.random = options.random ?? Math.random;
  }

  /** The URL to connect to now. */
  get current(): string {
    return this.urls[this.index] as string;
  }

  /** Failed connects (or lost connections) since the last successful connect. */
  get failures(): number {
    return this.failuresInRow;
  }

  /** True once every URL has failed at least once since the last connect. */
  get hasTriedAll(): boolean {
    return this.failuresInRow >= this.urls.length;
  }

  /** The connection to `current` failed or was lost: move on; returns the next URL and the wait before it. */
  fail(): { url: string; delayMs: number } {
    const round = Math.floor(this.failuresInRow / this.urls.length);
    this.failuresInRow++;
    this.index = (this.index + 1) % this.urls.length;
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** Math.min(round, 30));
    const delayMs = Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
    return { url: this.current, delayMs };
  }

  /** Connected to `current`: the back-off starts again, and a later loss first tries the next URL. */
  connected(): void {
    this.failuresInRow = 0;
  }
}

/** The URL list of an `mqtt` config section: `urls` when given, else the single `url`. */
export function brokerUrls(settings: { url?: string | undefined; urls?: readonly string[] | undefined }): string[] {
  if (settings.urls !== undefined && settings.urls.length > 0) return [...settings.urls];
  return settings.url === undefined ? [] : [settings.url];
}

/** A URL without its credentials, for logs. */
export function redactBrokerUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'invalid-url';
  }
}
