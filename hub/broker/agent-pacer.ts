/**
 * Flood guard for `mqtt.mode: external` that loses nothing: at most `maxPerSecond` messages per agent (the topic's
 * agent: an external broker does not say which client published) go into ingest per one-second window; a message
 * over the cap waits for the next window instead of being dropped. Its PUBACK waits with it, so the broker holds
 * the rest (QoS 1 flow control) - the backlog a persistent session delivers after a hub restart is paced, not cut.
 */
import type { Clock } from '../../protocols/clock.ts';

export class AgentPacer {
  private readonly maxPerSecond: number;
  private readonly clock: Clock;
  private readonly windows = new Map<string, { startMs: number; count: number }>();

  constructor(maxPerSecond: number, clock: Clock) {
    this.maxPerSecond = maxPerSecond;
    this.clock = clock;
  }

  /** 0 = the message may go in now (and is counted); otherwise wait this many ms, then ask again. */
  delayFor(agentKey: string): number {
    const now = this.clock.now();
    const window = this.windows.get(agentKey);
    if (window === undefined || now - window.startMs >= 1000) {
      if (this.windows.size > 10_000) this.prune(now);
      this.windows.set(agentKey, { startMs: now, count: 1 });
      return 0;
    }
    if (window.count < this.maxPerSecond) {
      window.count++;
      return 0;
    }
    return Math.max(1, window.startMs + 1000 - now);
  }

  private prune(now: number): void {
    for (const [key, window] of this.windows) if (now - window.startMs >= 1000) this.windows.delete(key);
  }
}
