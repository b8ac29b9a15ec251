/**
 * Each agent's clock offset (agent clock minus hub clock), measured from its own messages, and one rule for
 * every timestamp it sends (issue 19, "never silently blind"):
 *
 * - A heartbeat is stamped when it is sent and goes out at once (QoS 0): `at - receivedAt` is the offset minus
 *   the transit delay (milliseconds on a LAN). The latest heartbeat is the estimate, so a clock step in either
 *   direction is seen within one heartbeat interval.
 * - A live health record is stamped when its poll began and sent when the poll ended, so `observedAt -
 *   receivedAt` is a LOWER bound of the offset. A record above the estimate means the clock jumped ahead: the
 *   estimate rises at once. Before the first heartbeat the offset is taken as 0 (one heartbeat interval).
 * - DECISION: |offset| <= `toleranceMs`: used as is. Up to `maxCorrectableMs` (detection.maxClockSkewMs): the
 *   hub corrects the agent's timestamps by the offset (counted `corrected`). Beyond it, in EITHER direction,
 *   every timestamped message of that agent (health records, device events) is rejected as CLOCK_SKEW (counted
 *   `rejected`): the devices then go `unknown` through the freshness watch, with "agent clock N s ahead/behind"
 *   as the named cause. Heartbeats are never rejected: they keep measuring, so a fixed clock is seen at once.
 * Pure bookkeeping plus prom-client counters; no timers.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export type ClockDirection = 'ahead' | 'behind';

export type ClockJudgement =
  | { action: 'ok' | 'corrected'; correctedMs: number; offsetMs: number }
  | { action: 'rejected'; offsetMs: number; direction: ClockDirection };

export interface AgentClocksDeps {
  /** Offsets within this are noise (transit, poll duration): timestamps are used as sent. */
  toleranceMs: number;
  /** The largest offset the hub corrects; beyond it the agent's timestamps are rejected. */
  maxCorrectableMs: number;
  metrics?: Registry;
}

interface AgentClock {
  /** Latest heartbeat sample, or undefined before the first heartbeat. */
  heartbeatOffsetMs: number | undefined;
  /** The estimate in use. */
  offsetMs: number;
}

export function describeOffset(offsetMs: number): string {
  const seconds = Math.round(Math.abs(offsetMs) / 1000);
  return `agent clock ${seconds} s ${offsetMs >= 0 ? 'ahead' : 'behind'}`;
}

export class AgentClocks {
  private readonly deps: AgentClocksDeps;
  private readonly agents = new Map<string, AgentClock>();
  private readonly judged: Counter<'action' | 'direction'> | undefined;

  constructor(deps: AgentClocksDeps) {
    this.deps = deps;
    if (deps.metrics === undefined) return;
    this.judged = new Counter({
      name: 'hezo_agent_clock_timestamps_total',
      help: 'Agent timestamps whose clock offset was beyond tolerance: corrected or rejected, by direction',
      labelNames: ['action', 'direction'],
      registers: [deps.metrics],
    });
    const agents = this.agents;
    new Gauge({
      name: 'hezo_agent_clock_offset_seconds',
      help: "Each agent's measured clock offset (agent minus hub; positive = ahead)",
      labelNames: ['agent'],
      registers: [deps.metrics],
      collect() {
        this.reset();
        for (const [agentId, c] of agents) this.labels(agentId).set(c.offsetMs / 1000);
      },
    });
  }

  noteHeartbeat(agentId: string, sentAtMs: number, receivedAtMs: number): void {
    if (!Number.isFinite(sentAtMs)) return;
    const c = this.clock(agentId);
    c.heartbeatOffsetMs = sentAtMs - receivedAtMs;
    c.offsetMs = c.heartbeatOffsetMs;
  }

  /** A live (not replayed) health record: its stamp is a lower bound of the offset. */
  noteLiveRecord(agentId: string, observedMs: number, receivedAtMs: number): void {
    if (!Number.isFinite(observedMs)) return;
    const c = this.agents.get(agentId);
    if (c?.heartbeatOffsetMs === undefined) return;
    const sample = observedMs - receivedAtMs;
    // Stamped later than it arrived (beyond transit noise): the clock jumped ahead since the last heartbeat.
    if (sample > c.offsetMs + this.deps.toleranceMs) c.offsetMs = sample;
  }

  offsetMs(agentId: string): number | undefined {
    return this.agents.get(agentId)?.offsetMs;
  }

  /** Whether the agent's clock is off by more than the hub corrects (its timestamps are being rejected). */
  isBeyondCorrection(agentId: string): boolean {
    const offset = this.agents.get(agentId)?.offsetMs;
    return offset !== undefined && Math.abs(offset) > this.deps.maxCorrectableMs;
  }

  /** The hub-clock time of an agent timestamp, or a rejection (counted). */
  judge(agentId: string, atMs: number): ClockJudgement {
    const offsetMs = this.agents.get(agentId)?.offsetMs ?? 0;
    const magnitude = Math.abs(offsetMs);
    const direction: ClockDirection = offsetMs >= 0 ? 'ahead' : 'behind';
    if (magnitude <= this.deps.toleranceMs) return { action: 'ok', correctedMs: atMs, offsetMs };
    if (magnitude > this.deps.maxCorrectableMs) {
      this.judged?.labels('rejected', direction).inc();
      return { action: 'rejected', offsetMs, direction };
    }
    this.judged?.labels('corrected', direction).inc();
    return { action: 'corrected', correctedMs: atMs - offsetMs, offsetMs };
  }

  forget(agentId: string): void {
    this.agents.delete(agentId);
  }

  private clock(agentId: string): AgentClock {
    let c = this.agents.get(agentId);
    if (c === undefined) {
      c = { heartbeatOffsetMs: undefined, offsetMs: 0 };
      this.agents.set(agentId, c);
    }
    return c;
  }
}
