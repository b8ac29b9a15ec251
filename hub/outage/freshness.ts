/**
 * Freshness, not last-known state (issue 19). Every device has a deadline: `freshnessPolls` of its poll
 * intervals after the last health record the detector USED as live state. A device whose records stop being
 * used - for any reason: rejected at the boundary, ignored as history, a stalled poller, a skewed agent clock,
 * an agent that never came back after a hub restart - becomes `unknown` (reason `stale`, the cause in its
 * evidence) instead of staying green. One site alert per agent (`records-stale`, `detail` = the cause, e.g.
 * "agent clock 600 s ahead") covers all its stale devices; it is cleared once each of them is fresh again.
 * Devices already `unknown` (agent offline) are left alone, and so are those of a silent agent the detector
 * still has online (its missed-heartbeat timer is about to mark it offline): that has its own alert.
 * Pure logic on the injected clock: one check timer, no I/O.
 */
import type { Clock } from '../../protocols/clock.ts';
import { describeOffset } from '../ingest/agent-clocks.ts';
import type { DeviceState, SiteAlert } from '../types.ts';

export interface FreshnessDeps {
  clock: Clock;
  /** Poll intervals without a used record before a device is stale. */
  freshnessPolls: number;
  /** How often the deadlines are checked. */
  checkEveryMs: number;
  /** The largest agent clock offset the hub corrects (beyond it the agent's records are rejected). */
  maxCorrectableMs: number;
  serials(): Iterable<string>;
  /** The detector's view of the agent: a silent `online` agent is its heartbeat timer's job, not ours. */
  agentStatus(agentId: string): 'unseen' | 'online' | 'offline';
  state(serial: string): { state: DeviceState; agentId: string | null } | undefined;
  pollIntervalMs(serial: string): number;
  /**
   * The device a peripheral (an E70) is polled through, when it is one: its records come only while the host
   * answers, so a host that is not up explains their absence (no agent fault, no `records-stale` alert).
   */
  hostOf?(serial: string): string | undefined;
  /** Move the device to `unknown` (reason `stale`); returns whether it moved. */
  markStale(serial: string, now: number, evidence: string[]): boolean;
  siteAlert(alert: SiteAlert): void;
}

interface AgentFacts {
  site: string;
  offsetMs: number | undefined;
  lastHeardMs: number;
  lastRejection: { reason: string; atMs: number; count: number } | undefined;
}

interface StaleGroup {
  site: string;
  serials: Set<string>;
  detail: string;
}

export class FreshnessWatch {
  private readonly deps: FreshnessDeps;
  private readonly lastUsedMs = new Map<string, number>();
  private readonly agents = new Map<string, AgentFacts>();
  /** agentId -> the raised `records-stale` alert. */
  private readonly raised = new Map<string, StaleGroup>();
  private startedMs = 0;
  private cancelTimer: (() => void) | undefined;

  constructor(deps: FreshnessDeps) {
    this.deps = deps;
  }

  /** Devices restored from storage count as used at start: they have until their deadline to report. */
  start(): void {
    this.startedMs = this.deps.clock.now();
    const tick = () => {
      this.check();
      this.cancelTimer = this.deps.clock.setTimer(this.deps.checkEveryMs, tick);
    };
    this.cancelTimer = this.deps.clock.setTimer(this.deps.checkEveryMs, tick);
  }

  stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /** The detector used a record of `serial` as live state. */
  noteUsed(serial: string, agentId: string, site: string, now: number): void {
    this.lastUsedMs.set(serial, now);
    this.heard(agentId, site, now);
    const group = this.raised.get(agentId);
    if (group === undefined || !group.serials.delete(serial) || group.serials.size > 0) return;
    this.raised.delete(agentId);
    this.deps.siteAlert({
      site: group.site,
      agentId,
      status: 'cleared',
      at: new Date(now).toISOString(),
      reason: 'records-fresh',
      serials: [serial],
      detail: 'health records are used again',
    });
  }

  /** Any message from the agent; heartbeats carry its measured clock offset. */
  noteHeard(agentId: string, site: string, now: number, offsetMs?: number): void {
    const facts = this.heard(agentId, site, now);
    if (offsetMs !== undefined) facts.offsetMs = offsetMs;
  }

  /** A message of the agent was rejected at the boundary. */
  noteRejected(agentId: string, site: string, reason: string, now: number): void {
    const facts = this.heard(agentId, site, now);
    const last = facts.lastRejection;
    facts.lastRejection =
      last?.reason === reason ? { reason, atMs: now, count: last.count + 1 } : { reason, atMs: now, count: 1 };
  }

  /** Check every deadline now (also run by the timer). */
  check(): void {
    const now = this.deps.clock.now();
    const newlyStale = new Map<string, string[]>();
    for (const serial of this.deps.serials()) {
      const st = this.deps.state(serial);
      if (st === undefined || st.state === 'unknown') continue;
      const intervalMs = this.deps.pollIntervalMs(serial);
      const deadlineMs = this.deps.freshnessPolls * intervalMs;
      const lastMs = this.lastUsedMs.get(serial) ?? this.startedMs;
      if (now - lastMs < deadlineMs) continue;
      if (st.agentId !== null && this.isSilentOnlineAgent(st.agentId, now, intervalMs)) continue;
      const host = this.deps.hostOf?.(serial);
      const hostState = host === undefined ? undefined : this.deps.state(host)?.state;
      if (host !== undefined && hostState !== undefined && hostState !== 'up') {
        // The host's own state (and its ticket) covers the room; the peripheral is not watched meanwhile.
        this.deps.markStale(serial, now, [
          `no health record for ${Math.round((now - lastMs) / 1000)} s: its host ${host} is ${hostState} (a peripheral is polled through its host)`,
        ]);
        continue;
      }
      const cause = this.causeOf(st.agentId, now, deadlineMs);
      const evidence = [
        `no usable health record for ${Math.round((now - lastMs) / 1000)} s (deadline ${this.deps.freshnessPolls} polls of ${Math.round(intervalMs / 1000)} s)`,
        cause,
      ];
      if (!this.deps.markStale(serial, now, evidence) || st.agentId === null) continue;
      const list = newlyStale.get(st.agentId) ?? [];
      list.push(serial);
      newlyStale.set(st.agentId, list);
    }
    for (const [agentId, serials] of newlyStale) {
      const existing = this.raised.get(agentId);
      if (existing !== undefined) {
        for (const s of serials) existing.serials.add(s);
        continue;
      }
      const detail = this.causeOf(agentId, now, this.deps.freshnessPolls * this.deps.pollIntervalMs(serials[0]!));
      const site = this.agents.get(agentId)?.site ?? '';
      this.raised.set(agentId, { site, serials: new Set(serials), detail });
      this.deps.siteAlert({
        site,
        agentId,
        status: 'raised',
        at: new Date(now).toISOString(),
        reason: 'records-stale',
        serials,
        detail,
      });
    }
  }

  /** Why an agent's records are not used, in words for the NOC page and the ticket evidence. */
  causeOf(agentId: string | null, now: number, windowMs: number): string {
    if (agentId === null) return 'no agent reports this device';
    const facts = this.agents.get(agentId);
    if (facts?.offsetMs !== undefined && Math.abs(facts.offsetMs) > this.deps.maxCorrectableMs) {
      return `${describeOffset(facts.offsetMs)} (records rejected beyond ${Math.round(this.deps.maxCorrectableMs / 1000)} s)`;
    }
    const rejection = facts?.lastRejection;
    if (rejection !== undefined && now - rejection.atMs <= windowMs) {
      return `agent ${agentId}: records rejected (${rejection.reason}, ${rejection.count} so far)`;
    }
    if (facts !== undefined && now - facts.lastHeardMs <= windowMs) {
      return `agent ${agentId} is online but sends no usable record for this device (poller stalled?)`;
    }
    return `nothing heard from agent ${agentId}`;
  }

  /**
   * The agent sent nothing for a poll interval but the detector still has it online: its missed-heartbeat
   * timer will mark it offline (devices `unknown`, one agent-offline site alert) - no second alert from here.
   */
  private isSilentOnlineAgent(agentId: string, now: number, intervalMs: number): boolean {
    const facts = this.agents.get(agentId);
    return facts !== undefined && now - facts.lastHeardMs > intervalMs && this.deps.agentStatus(agentId) === 'online';
  }

  private heard(agentId: string, site: string, now: number): AgentFacts {
    let facts = this.agents.get(agentId);
    if (facts === undefined) {
      facts = { site, offsetMs: undefined, lastHeardMs: now, lastRejection: undefined };
      this.agents.set(agentId, facts);
    }
    facts.site = site;
    facts.lastHeardMs = now;
    return facts;
  }
}
