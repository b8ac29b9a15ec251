/**
 * Other hub nodes' detection, followed (issue 16): every node serves the device list, the NOC page and the live
 * stream for ALL partitions, but only a partition's holder receives its agents' records and detects. A transition,
 * a flapping state or an open site alert stored by another node arrives through the change feed (store.ts:
 * OUTAGE_FEED, SITE_ALERT_FEED); this node reloads that device (or agent) from the store, takes the stored state
 * into its detector (so a takeover continues from it) and shows it (`device` event; `site-alert-followed` for the
 * live stream). It never announces it as its own: no `device-state`, no `site-alert`, so no ticket, incident or
 * notification here. A followed device is not this node's to watch for freshness until this node uses a live
 * record of it, or holds its partition (hub/cluster).
 */

import { partitionOf } from '../cluster/partitions.ts';
import type { HubContext } from '../context.ts';
import type { Registry } from '../registry/registry.ts';
import { followChanges, NO_CHANGE_FEED } from '../store/change-feed.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { StoredTransition } from '../types.ts';
import type { Detector, RestoredDevice } from './detector.ts';
import type { SiteOutageGrouper } from './site-grouping.ts';
import { type FlapState, LIVE_FEED, type LiveInfo, OUTAGE_FEED, type OutageStore, SITE_ALERT_FEED } from './store.ts';

export interface FollowDeps {
  ctx: HubContext;
  store: OutageStore;
  registry: Registry;
  detector: Detector;
  grouper: SiteOutageGrouper;
  /** serial -> first failed poll of its current `down` (the module's map, shown in the view). */
  faultAt: Map<string, string>;
  /** Emit the device's view (`device`) now. */
  showDevice(serial: string): void;
  /** Announce a transition another node stored but never announced (through this node's site grouper). */
  announceHeld(t: StoredTransition): void;
  /** Another node's newer lastSeen/agent/firmware of a device it detects. */
  showLastSeen(serial: string, info: LiveInfo): void;
}

export class NodeFollower {
  private readonly deps: FollowDeps;
  /** Devices whose state came from the store (restored or another node's) with no live record used here since. */
  private readonly followed = new Set<string>();
  /** serial -> site and customer of the followed devices (this node's registry may not know them). */
  private readonly places = new Map<string, { site: string; customer: string }>();
  /** serial -> when this node was first seen holding the partition of a device it follows (freshness grace). */
  private readonly heldSince = new Map<string, number>();
  /** serial -> its last transition, stored by a node that died before announcing it. */
  private readonly unannounced = new Map<string, StoredTransition>();
  private readonly reloads: SerialQueue;
  private readonly offs: Array<() => void> = [];

  constructor(deps: FollowDeps) {
    this.deps = deps;
    const log = deps.ctx.logger.child({ component: 'outage' });
    this.reloads = new SerialQueue((err) => log.error({ err }, "another node's outage change not taken in"));
  }

  /** Subscribe to the other nodes' changes (before the start's restore reads the store: nothing falls between). */
  start(): void {
    const feed = this.deps.ctx.services.changeFeed ?? NO_CHANGE_FEED;
    this.offs.push(
      followChanges(feed, OUTAGE_FEED, this.reloads, {
        one: (serial) => this.reloadDevice(serial),
        all: () => this.reloadAllDevices(),
      }),
      followChanges(feed, LIVE_FEED, this.reloads, {
        one: (since) => this.reloadLive(since),
        all: () => this.reloadLive(undefined),
      }),
      followChanges(feed, SITE_ALERT_FEED, this.reloads, {
        one: (agentId) => this.reloadSiteAlert(agentId),
        all: async () => {
          for (const a of await this.deps.store.openSiteAlerts()) await this.reloadSiteAlert(a.agentId);
        },
      }),
    );
  }

  stop(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    return this.reloads.idle();
  }

  /** Several hub nodes share the store (`database.url`): restored devices may be another node's. */
  get isShared(): boolean {
    return this.deps.ctx.config.database?.url !== undefined;
  }

  /**
   * Devices restored at start on a node that shares its store: followed until a live record of theirs is used here
   * (or their partition is held here). Their last transitions stored but never announced (the node that held them
   * died during a site-grouping hold) are announced by the node that next uses a live record of the device.
   */
  noteRestored(
    devices: Iterable<{ serial: string; site: string; customer: string }>,
    unannounced: readonly StoredTransition[],
  ): void {
    for (const d of devices) {
      this.followed.add(d.serial);
      this.places.set(d.serial, { site: d.site, customer: d.customer });
    }
    for (const t of unannounced) this.unannounced.set(t.serial, t);
  }

  /**
   * A live record of `serial` was used here: this node watches it now. Returns the device's stored transition that
   * nobody announced (to announce it now, once), if any.
   */
  noteUsed(serial: string): StoredTransition | undefined {
    if (this.followed.size === 0) return undefined;
    this.followed.delete(serial);
    this.heldSince.delete(serial);
    const waiting = this.unannounced.get(serial);
    if (waiting !== undefined) this.unannounced.delete(serial);
    return waiting;
  }

  /** Where a followed device is (its last stored transition's site and customer). */
  placeOf(serial: string): { site: string; customer: string } | undefined {
    return this.places.get(serial);
  }

  /**
   * Whether this node watches `serial`'s freshness: its own devices, yes; a device it only follows, once this node
   * has held the device's partition for `deadlineMs` (a takeover gives the agent's records a full deadline to arrive
   * before the new holder calls the device stale).
   */
  isWatchedHere(serial: string, site: string | undefined, deadlineMs: number): boolean {
    if (!this.followed.has(serial)) return true;
    if (!this.holdsPartitionOf(site ?? this.places.get(serial)?.site)) {
      this.heldSince.delete(serial);
      return false;
    }
    const now = this.deps.ctx.clock.now();
    const since = this.heldSince.get(serial);
    if (since === undefined) this.heldSince.set(serial, now);
    if (since === undefined || now - since < deadlineMs) return false;
    // this node's device now, records or not: a `down` its old node stored but never announced is announced first
    const held = this.noteUsed(serial);
    if (held !== undefined) this.deps.announceHeld(held);
    return true;
  }

  private holdsPartitionOf(site: string | undefined): boolean {
    const cluster = this.deps.ctx.services.cluster;
    if (cluster === undefined) return true;
    if (site === undefined) return false;
    return cluster.epochOf(partitionOf(site, this.deps.ctx.config.cluster.partitions)) !== undefined;
  }

  private async reloadDevice(serial: string): Promise<void> {
    const [last] = await this.deps.store.lastStates(serial);
    const flaps = await this.deps.store.flapStates(serial);
    const [waiting] = await this.deps.store.unannounced(serial);
    if (waiting === undefined) this.unannounced.delete(serial);
    else this.unannounced.set(serial, waiting);
    if (last === undefined) return;
    this.take(last, flaps.get(serial));
  }

  private async reloadAllDevices(): Promise<void> {
    const flaps = await this.deps.store.flapStates();
    const waiting = await this.deps.store.unannounced();
    this.unannounced.clear();
    for (const t of waiting) this.unannounced.set(t.serial, t);
    for (const last of await this.deps.store.lastStates()) this.take(last, flaps.get(last.serial));
  }

  /** The stored last state of a device, into the detector and the view (when it differs from what this node has). */
  private take(last: RestoredDevice, flaps: FlapState | undefined): void {
    const { detector, registry, faultAt } = this.deps;
    const current = detector.state(last.serial);
    const reg = registry.get(last.serial);
    // this node detects the device (uses its records, holds its partition): its own state stands
    if (current !== undefined && !this.followed.has(last.serial) && this.holdsPartitionOf(reg?.site ?? last.site))
      return;
    const isSame =
      current !== undefined &&
      current.state === last.state &&
      current.sinceMs === last.sinceMs &&
      current.reason === last.reason;
    if (isSame && flaps === undefined) return;
    const device = { ...last, ...flaps, ...(reg === undefined ? {} : { site: reg.site, customer: reg.customer }) };
    detector.restore([device]);
    this.followed.add(last.serial);
    this.places.set(last.serial, { site: device.site, customer: device.customer });
    if (isSame) return;
    if (last.faultAt !== undefined) faultAt.set(last.serial, last.faultAt);
    else faultAt.delete(last.serial);
    this.deps.showDevice(last.serial);
  }

  /** lastSeen rows another node wrote since `since` (all after a reconnect): of the devices this node only follows. */
  private async reloadLive(since: string | undefined): Promise<void> {
    const { detector, registry } = this.deps;
    for (const [serial, info] of await this.deps.store.liveInfo(since)) {
      const isOwn =
        detector.state(serial) !== undefined &&
        !this.followed.has(serial) &&
        this.holdsPartitionOf(registry.get(serial)?.site ?? this.places.get(serial)?.site);
      if (!isOwn) this.deps.showLastSeen(serial, info);
    }
  }

  private async reloadSiteAlert(agentId: string): Promise<void> {
    const [open] = await this.deps.store.openSiteAlerts(agentId);
    const { ctx, grouper } = this.deps;
    const was = grouper.raisedAlert(agentId);
    if (open !== undefined) {
      grouper.restoreRaised(open.agentId, open.site, open.serials);
      ctx.bus.emit('site-alert-followed', {
        site: open.site,
        agentId,
        status: 'raised',
        at: open.at,
        reason: 'site-network-down',
        serials: open.serials,
      });
    } else if (was !== undefined) {
      grouper.forgetRaised(agentId);
      ctx.bus.emit('site-alert-followed', {
        site: was.site,
        agentId,
        status: 'cleared',
        at: new Date(ctx.clock.now()).toISOString(),
        reason: 'site-network-back',
        serials: was.serials,
      });
    }
  }
}
