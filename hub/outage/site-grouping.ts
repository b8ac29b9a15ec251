/**
 * Room-network outage: hold-and-group between the detector and its sink.
 *
 * When the switch of a room dies, the agent (on another network path) stays online but every device it watches
 * stops answering: each goes `down` within about one poll interval of the others. That is one site problem, not
 * N P1 tickets. So a `down` transition of a device whose agent watches 2 or more devices is held for up to one
 * poll interval + margin (per agent, from the first held one). When the window closes (or earlier, once every
 * device of the agent is held):
 * - >= `SITE_DOWN_SHARE` of the agent's devices (and at least `SITE_DOWN_MIN_DEVICES`) went down together: ONE
 *   site alert (`raised`, reason `site-network-down`) and the held transitions are released marked
 *   `groupedInSiteAlert` (stored and shown as usual; the tickets module opens no ticket for them). The alert is
 *   `cleared` (reason `site-network-back`) once none of the grouped devices is down any more.
 * - otherwise the held transitions are released unchanged, in order. This is decided EARLY, as soon as enough of
 *   the agent's other devices answered a poll in the same round (`answeredSince`, at once) or after the hold
 *   began (`noteReachable`) that the share can no longer be reached.
 * Any other transition of a held device (it came back, its agent went offline, ...) first releases the held one,
 * so the order of a device's transitions never changes. Latency cost: a `down` reaches the tickets module up to
 * one hold later (`holdMs`); nothing else is delayed.
 */
import type { Clock } from '../../protocols/clock.ts';
import type { DeviceTransition } from '../types.ts';
import type { DetectorSink } from './detector.ts';

/** Share of an agent's devices that must go down together to be one site problem. */
export const SITE_DOWN_SHARE = 0.8;
export const SITE_DOWN_MIN_DEVICES = 2;
/** Margin on top of the poll interval: polls of one round are spread over the interval, plus retries. */
export const HOLD_MARGIN_MIN_MS = 2000;
export const HOLD_MARGIN_SHARE = 0.2;

export interface SiteGroupingDeps {
  clock: Clock;
  sink: DetectorSink;
  /** The serials an agent watches (presence list and records), or undefined. */
  agentDevices(agentId: string): ReadonlySet<string> | undefined;
  /** The poll interval of a device (from its records). */
  pollIntervalMs(serial: string): number;
  /** The device's current state is `down` (to clear a site alert). */
  isDown(serial: string): boolean;
  /** The device answered a poll (a channel ok) at or after `sinceMs` (hub clock, when the record arrived). */
  answeredSince?(serial: string, sinceMs: number): boolean;
  /** Keeps raised site alerts across restarts (so they are cleared when resolved, issue 19). */
  persist?: {
    raised(agentId: string, site: string, serials: readonly string[], at: string): void;
    cleared(agentId: string): void;
  };
}

interface HeldGroup {
  agentId: string;
  site: string;
  held: Map<string, DeviceTransition>;
  /** Devices of the agent that answered a poll since the hold began (they are not behind a dead switch). */
  reachable: Set<string>;
  cancelTimer: () => void;
}

interface RaisedAlert {
  site: string;
  serials: Set<string>;
}

/** How many of an agent's `total` devices must go down together to be one site problem. */
function needed(total: number): number {
  return Math.max(SITE_DOWN_MIN_DEVICES, Math.ceil(SITE_DOWN_SHARE * total - 1e-9));
}

/** The hold window for a device's poll interval. */
export function holdMsFor(pollIntervalMs: number): number {
  return pollIntervalMs + Math.max(HOLD_MARGIN_MIN_MS, Math.round(pollIntervalMs * HOLD_MARGIN_SHARE));
}

/** A DetectorSink that groups simultaneous `down`s of one agent's devices into one site alert. */
export class SiteOutageGrouper implements DetectorSink {
  private readonly deps: SiteGroupingDeps;
  private readonly groups = new Map<string, HeldGroup>();
  /** agentId -> the raised `site-network-down` alert and the devices it covers. */
  private readonly raised = new Map<string, RaisedAlert>();

  constructor(deps: SiteGroupingDeps) {
    this.deps = deps;
  }

  transition(t: DeviceTransition): void {
    if (t.agentId !== null) {
      const group = this.groups.get(t.agentId);
      const earlier = group?.held.get(t.serial);
      if (group !== undefined && earlier !== undefined) {
        group.held.delete(t.serial);
        this.deps.sink.transition(earlier);
        if (group.held.size === 0) this.close(group);
      }
      if (this.shouldHold(t)) {
        this.hold(t, t.agentId);
        return;
      }
    }
    this.deps.sink.transition(t);
    if (t.agentId !== null && t.to !== 'down') this.maybeClear(t.agentId, t.at);
  }

  siteAlert(alert: Parameters<DetectorSink['siteAlert']>[0]): void {
    this.deps.sink.siteAlert(alert);
  }

  agentPresence(event: Parameters<DetectorSink['agentPresence']>[0]): void {
    this.deps.sink.agentPresence(event);
  }

  /** A raised `site-network-down` alert from storage (before any transition). */
  restoreRaised(agentId: string, site: string, serials: readonly string[]): void {
    this.raised.set(agentId, { site, serials: new Set(serials) });
  }

  /** The raised `site-network-down` alert of `agentId`, if any (another hub node's, followed: hub/outage/follow-nodes.ts). */
  raisedAlert(agentId: string): { site: string; serials: string[] } | undefined {
    const alert = this.raised.get(agentId);
    return alert === undefined ? undefined : { site: alert.site, serials: [...alert.serials] };
  }

  /** Another hub node cleared the alert of `agentId`. */
  forgetRaised(agentId: string): void {
    this.raised.delete(agentId);
  }

  /** Whether `down`s of this agent's devices are being held (cheap: called for every live health record). */
  isHolding(agentId: string): boolean {
    return this.groups.has(agentId);
  }

  /** A device of `agentId` answered a poll (at least one channel ok): decide early when grouping became impossible. */
  noteReachable(agentId: string, serial: string): void {
    const group = this.groups.get(agentId);
    if (group === undefined || group.held.has(serial)) return;
    group.reachable.add(serial);
    const total = this.deps.agentDevices(agentId)?.size ?? 0;
    if (total - group.reachable.size < needed(total)) this.release(group, false);
  }

  /** Release everything held now (hub stopping). */
  stop(): void {
    for (const group of [...this.groups.values()]) this.release(group, false);
  }

  get heldCount(): number {
    let n = 0;
    for (const group of this.groups.values()) n += group.held.size;
    return n;
  }

  private shouldHold(t: DeviceTransition): boolean {
    if (t.to !== 'down' || t.from === 'down' || t.agentId === null) return false;
    const devices = this.deps.agentDevices(t.agentId);
    return devices !== undefined && devices.size >= SITE_DOWN_MIN_DEVICES;
  }

  private hold(t: DeviceTransition, agentId: string): void {
    let group = this.groups.get(agentId);
    if (group === undefined) {
      const created: HeldGroup = {
        agentId,
        site: t.site,
        held: new Map(),
        reachable: new Set(),
        cancelTimer: () => {},
      };
      created.cancelTimer = this.deps.clock.setTimer(holdMsFor(this.deps.pollIntervalMs(t.serial)), () =>
        this.decide(created),
      );
      this.groups.set(agentId, created);
      group = created;
    }
    group.held.set(t.serial, t);
    group.reachable.delete(t.serial);
    const devices = this.deps.agentDevices(agentId);
    // Devices that answered in this same poll round (within one interval) are not behind a dead switch; their
    // answers usually arrive before the dead device's timeouts, so count them now instead of a round later.
    const since = this.deps.clock.now() - this.deps.pollIntervalMs(t.serial);
    for (const serial of devices ?? []) {
      if (!group.held.has(serial) && this.deps.answeredSince?.(serial, since) === true) group.reachable.add(serial);
    }
    const total = devices?.size ?? 0;
    if (total - group.reachable.size < needed(total)) {
      this.release(group, false);
      return;
    }
    // Every device of the agent is down: nothing more can join, decide now.
    if (devices !== undefined && group.held.size >= devices.size) this.decide(group);
  }

  private decide(group: HeldGroup): void {
    if (this.groups.get(group.agentId) !== group) return;
    const total = this.deps.agentDevices(group.agentId)?.size ?? group.held.size;
    this.release(group, group.held.size >= needed(total));
  }

  private release(group: HeldGroup, isSiteDown: boolean): void {
    this.close(group);
    const held = [...group.held.values()];
    group.held.clear();
    if (isSiteDown) {
      const at = new Date(this.deps.clock.now()).toISOString();
      const alert = this.raised.get(group.agentId) ?? { site: group.site, serials: new Set<string>() };
      for (const t of held) alert.serials.add(t.serial);
      this.raised.set(group.agentId, alert);
      this.deps.persist?.raised(group.agentId, alert.site, [...alert.serials], at);
      this.deps.sink.siteAlert({
        site: group.site,
        agentId: group.agentId,
        status: 'raised',
        at,
        reason: 'site-network-down',
        serials: held.map((t) => t.serial),
      });
    }
    for (const t of held) this.deps.sink.transition(isSiteDown ? { ...t, groupedInSiteAlert: true } : t);
  }

  private close(group: HeldGroup): void {
    group.cancelTimer();
    if (this.groups.get(group.agentId) === group) this.groups.delete(group.agentId);
  }

  private maybeClear(agentId: string, at: string): void {
    const alert = this.raised.get(agentId);
    if (alert === undefined) return;
    for (const serial of alert.serials) if (this.deps.isDown(serial)) return;
    this.raised.delete(agentId);
    this.deps.persist?.cleared(agentId);
    this.deps.sink.siteAlert({
      site: alert.site,
      agentId,
      status: 'cleared',
      at,
      reason: 'site-network-back',
      serials: [...alert.serials],
    });
  }
}
