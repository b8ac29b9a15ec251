/**
 * Detection as a hub module: feeds the detector from the bus (`ingest:*`), stores every transition, then
 * announces it (`device-state`, then `device` with the new view), and serves `ctx.services.devices`.
 * Hot path per health record: map lookups, a ring push, and a `device` event only when something a dashboard
 * shows changed (state, reason, problems, firmware, agent, maintenance, contract, registry entry) or, for
 * lastSeen alone, at most every LAST_SEEN_REFRESH_MS per device. The store (SQLite or PostgreSQL, issue 16) only in
 * the batched flush, which writes the record's validated JSON text as received (no second serialisation).
 * Other hub nodes' transitions and site alerts are shown, never announced, here (follow-nodes.ts).
 */
import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import type { HealthRecord } from '../../protocols/health.ts';
import { parseTopic } from '../../protocols/topics.ts';
import { dutiesOf } from '../cluster/partition-duties.ts';
import type { DeviceDirectory, HubContext, HubModule } from '../context.ts';
import type { Registry } from '../registry/registry.ts';
import { OrderedRetry } from '../storage/ordered-retry.ts';
import { storageHealthOf } from '../storage/storage-health.ts';
import { NO_CHANGE_FEED } from '../store/change-feed.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { DeviceState, DeviceTransition, DeviceView, StoredTransition } from '../types.ts';
import { Detector, type DetectorSink } from './detector.ts';
import { type DeviceSlot, DeviceSlots } from './device-slots.ts';
import { NodeFollower } from './follow-nodes.ts';
import { FreshnessWatch } from './freshness.ts';
import { LiveFlush } from './live-flush.ts';
import { RecordRing } from './record-ring.ts';
import { SiteOutageGrouper } from './site-grouping.ts';
import { type LiveInfo, OutageStore, type RecordText } from './store.ts';

export interface DeviceDetail extends DeviceView {
  /** Recent health records, newest first. */
  health: HealthRecord[];
  /** State changes, newest first. */
  history: StoredTransition[];
}

export interface OutageModule extends HubModule, DeviceDirectory {
  readonly detector: Detector;
  detail(serial: string): Promise<DeviceDetail | undefined>;
  /** Write pending lastSeen and recent records now. */
  flush(): Promise<void>;
  /** Settles once every transition detected so far is stored and announced (or waits for a retry), and no write is under way. */
  idle(): Promise<void>;
  /**
   * Stop listening to agent messages and stop every detection timer (a graceful hub stop calls this BEFORE the
   * broker closes, so the agents' Last Wills are never processed and nothing is marked `unknown`).
   */
  detach(): void;
}

const STATES: readonly DeviceState[] = ['up', 'degraded', 'down', 'unknown'];
/**
 * A device whose visible fields did not change gets a `device` event (lastSeen refresh) at most this often. No screen
 * shows lastSeen (the API always gives the current one, state changes go out at once, staleness is the freshness
 * check's); at 5 s every record of a device polled every 10 s built and sent a full view (B2: 1 `device` event per
 * record), at 30 s one record in three does.
 */
export const LAST_SEEN_REFRESH_MS = 30_000;

/** What the last `device` event of a device showed (to tell whether a record changes anything visible). */
interface Shown {
  emittedAtMs: number;
  registered: unknown;
  state: DeviceState;
  reason: string;
  problems: readonly string[];
  agentId: string | null;
  firmware: string | null;
  maintenance: boolean;
  contract: string | null;
  coverage: 'active' | 'none';
}

function isSameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hasAnsweringChannel(record: HealthRecord): boolean {
  const r = record.reachability;
  return r.rest?.ok === true || r.snmp?.ok === true || r.tcp?.ok === true || r.ssh?.ok === true || r.usb?.ok === true;
}

/** `new Date(ms).toISOString()`, memoised for the last instant (many records share one millisecond under load). */
function isoFormatter(): (ms: number) => string {
  let lastMs = Number.NaN;
  let lastIso = '';
  return (ms) => {
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
}
const HISTORY_LIMIT = 100;
/** Rows (lastSeen + history) per transaction of the timed flush: ~2-5 ms of SQLite each. */
export const FLUSH_CHUNK_ROWS = 500;
/** A failed store write is retried this often until it succeeds. */
export const STORE_RETRY_MS = 5000;

export function createOutageModule(ctx: HubContext, registry: Registry): OutageModule {
  const { bus, clock, config, logger } = ctx;
  const log: Logger = logger.child({ component: 'outage' });
  const duties = dutiesOf(ctx);
  const ringSize = config.detection.recentRecordsPerDevice;
  const store = new OutageStore(ctx.sql, ringSize, ctx.services.changeFeed ?? NO_CHANGE_FEED);
  /** Writes that follow detection but hold nothing back (announced marks, site alerts, flapping), in order. */
  const sideWrites = new SerialQueue((err) => log.error({ err }, 'outage store write failed'));
  function queued(what: string, consequence: string, write: () => Promise<void>): void {
    void sideWrites.push(async () => {
      try {
        await write();
      } catch (err) {
        storage.noteFailure(what, err, consequence);
      }
    });
  }
  /** What this module keeps per device (device-slots.ts): one map lookup per record. */
  const devices = new DeviceSlots<Shown>();
  const slotOf = (serial: string) => devices.slotOf(serial);
  const markDirty = (slot: DeviceSlot<Shown>) => devices.markDirty(slot);
  /** History rows waiting for the flush: text and columns only (a parsed record kept 5 s would be promoted). */
  const pendingRecords = new Map<string, RecordText[]>();
  const isoOf = isoFormatter();
  /** serial -> first failed poll of its current `down` (outage start, from the records). */
  const faultAt = new Map<string, string>();
  const unsubscribe: Array<() => void> = [];
  let cancelReplay: (() => void) | undefined;

  // Past the site grouper (which may hold a `down` up to one poll interval): announced to the tickets module.
  /** Stored transitions waiting in the grouper: `serial|at|to` -> row id, marked announced when they leave it. */
  const storedIds = new Map<string, number>();
  const keyOf = (t: DeviceTransition) => `${t.serial}|${t.at}|${t.to}`;
  const announced: DetectorSink = {
    transition(t) {
      const id = storedIds.get(keyOf(t));
      storedIds.delete(keyOf(t));
      bus.emit('device-state', t);
      if (id === undefined) return;
      // Worst case after a crash: announced again (the tickets module adds a note to the open ticket).
      queued('device-transitions', 'an announced transition not marked', () => store.markAnnounced(id, t.serial));
    },
    siteAlert(alert) {
      log.warn(
        {
          site: alert.site,
          agentId: alert.agentId,
          status: alert.status,
          reason: alert.reason,
          devices: alert.serials.length,
        },
        'site alert',
      );
      bus.emit('site-alert', alert);
    },
    agentPresence(event) {
      log.info({ agentId: event.agentId, site: event.site, status: event.status }, 'agent presence');
      bus.emit('agent-presence', event);
    },
  };
  // At detection: every transition is stored FIRST, then logged and shown (`device`), then handed to the grouper.
  // A failed write (disk full) keeps it, and every later one, in order until the store takes them (issue 19).
  const storage = storageHealthOf(ctx);
  const transitionWrites = new OrderedRetry<DeviceTransition>({
    store: 'device-transitions',
    waitingWhat: 'device transition(s) not yet stored or announced',
    clock,
    retryMs: STORE_RETRY_MS,
    health: storage,
    log,
    apply: async (t) => {
      storedIds.set(keyOf(t), await store.insertTransition(t));
    },
    after(t) {
      if (t.to === 'down' && t.faultAt !== undefined) faultAt.set(t.serial, t.faultAt);
      else if (t.from !== t.to) faultAt.delete(t.serial);
      const level = t.to === 'up' || t.to === 'unknown' ? 'info' : 'warn';
      log[level](
        { serial: t.serial, from: t.from, to: t.to, reason: t.reason, inMaintenance: t.inMaintenance },
        'device state changed',
      );
      announceDevice(t.serial, clock.now());
      grouper.transition(t);
    },
  });
  /** Stored transitions nobody announced (a hub died while the grouper held them): through the grouper again. */
  function replayHeld(waiting: readonly StoredTransition[]): void {
    for (const { id, ...t } of waiting) {
      storedIds.set(keyOf(t), id);
      grouper.transition(t);
    }
  }
  const detected: DetectorSink = {
    transition: (t) => transitionWrites.push(t),
    siteAlert: (alert) => grouper.siteAlert(alert),
    agentPresence: (event) => grouper.agentPresence(event),
  };
  // Room-network outages: simultaneous `down`s of one agent's devices become one site alert (site-grouping.ts).
  const grouper: SiteOutageGrouper = new SiteOutageGrouper({
    clock,
    sink: announced,
    agentDevices: (agentId): ReadonlySet<string> | undefined => detector.agentDevices(agentId),
    pollIntervalMs: (serial) => detector.pollIntervalMs(serial),
    isDown: (serial) => detector.state(serial)?.state === 'down',
    answeredSince: (serial, sinceMs) => (devices.get(serial)?.lastAnsweredAtMs ?? Number.NEGATIVE_INFINITY) >= sinceMs,
    persist: {
      raised: (agentId, site, serials, at) =>
        queued('site-alerts', 'an open site alert not saved', () =>
          store.saveOpenSiteAlert(agentId, site, serials, at),
        ),
      cleared: (agentId) =>
        queued('site-alerts', 'an open site alert not saved', () => store.deleteOpenSiteAlert(agentId)),
    },
  });
  const detector: Detector = new Detector({
    config: config.detection,
    clock,
    isInMaintenance: (serial, site, atMs) => registry.isInMaintenance(serial, site, atMs),
    deviceInfo: (serial) => registry.get(serial),
    sink: detected,
    onFlapState: (serial, events, isFlapping) =>
      queued('site-alerts', 'a flapping state not saved', () => store.saveFlapState(serial, events, isFlapping)),
    holds: duties.holds,
  });
  const follower = new NodeFollower({
    ctx,
    store,
    registry,
    detector,
    grouper,
    faultAt,
    showDevice: (serial) => announceDevice(serial, clock.now()),
    announceHeld: (t) => replayHeld([t]),
    showLastSeen(serial, info) {
      const lastSeenMs = Date.parse(info.lastSeen);
      const slot = slotOf(serial);
      const known = slot.live;
      if (known !== undefined && known.lastSeenMs >= lastSeenMs) return;
      slot.live = { lastSeenMs, agentId: info.agentId, firmware: info.firmware };
      // as for this node's own records: a lastSeen-only change is shown at most every LAST_SEEN_REFRESH_MS
      const now = clock.now();
      const prev = slot.shown;
      if (prev === undefined || now - prev.emittedAtMs >= LAST_SEEN_REFRESH_MS || hasVisibleChange(slot, prev, now)) {
        announceDevice(serial, now, slot);
      }
    },
  });

  /** Peripheral serial (an E70) -> the host it is polled through, from its records' `identity.hostSerial`. */
  const peripheralHosts = new Map<string, string>();
  const freshness = new FreshnessWatch({
    clock,
    freshnessPolls: config.detection.freshnessPolls,
    checkEveryMs: config.detection.freshnessCheckMs,
    maxCorrectableMs: config.detection.maxClockSkewMs,
    serials: () => detector.serials(),
    agentStatus: (agentId) => detector.agentStatus(agentId),
    // another hub node's device (shown here, detected there) is not this node's to call stale
    state: (serial) =>
      follower.isWatchedHere(
        serial,
        registry.get(serial)?.site,
        config.detection.freshnessPolls * detector.pollIntervalMs(serial),
      )
        ? detector.state(serial)
        : undefined,
    pollIntervalMs: (serial) => detector.pollIntervalMs(serial),
    // issue 16: records of a site held by another node stop here; that is not staleness
    markStale: (serial, now, evidence) =>
      duties.holds(registry.get(serial)?.site ?? '') && detector.markStale(serial, now, evidence),
    siteAlert: (alert) => {
      if (duties.holds(alert.site)) grouper.siteAlert(alert);
    },
    hostOf: (serial) => peripheralHosts.get(serial),
  });

  function view(serial: string, slot = devices.get(serial)): DeviceView | undefined {
    const reg = registry.get(serial);
    const st = detector.state(serial);
    if (reg === undefined && st === undefined) return undefined;
    const now = clock.now();
    const info = slot?.live;
    // a device only another hub node detects may be missing from this node's registry: its stored site then
    const place = reg ?? follower.placeOf(serial);
    const site = place?.site ?? '';
    const contract = registry.contractFor(serial, now);
    const result: DeviceView = {
      serial,
      model: reg?.model ?? 'unknown',
      site,
      customer: place?.customer ?? '',
      state: st?.state ?? 'unknown',
      since: new Date(st?.sinceMs ?? Date.parse(reg?.createdAt ?? new Date(now).toISOString())).toISOString(),
      lastSeen: info === undefined ? null : isoOf(info.lastSeenMs),
      agentId: info?.agentId ?? st?.agentId ?? null,
      firmware: info?.firmware ?? null,
      contract: contract?.number ?? null,
      coverage: contract?.isActive === true ? 'active' : 'none',
      reason: st?.reason ?? 'registered',
      problems: st?.problems ?? [],
      maintenance: registry.isInMaintenance(serial, site, now),
    };
    if (reg?.name !== undefined) result.name = reg.name;
    const alerts = ctx.services.identityAlerts?.forSerial(serial);
    if (alerts !== undefined && alerts.length > 0) {
      result.identityAlerts = alerts.map((a) => ({
        channel: a.channel,
        fingerprint: a.fingerprint,
        status: a.status,
        detail: a.detail,
        at: a.at,
      }));
    }
    const fault = result.state === 'down' ? faultAt.get(serial) : undefined;
    if (fault !== undefined) result.faultAt = fault;
    return result;
  }

  /** Build the view and emit `device`, remembering what it showed. */
  function announceDevice(serial: string, now: number, slot = devices.get(serial)): void {
    const v = view(serial, slot);
    if (v === undefined) return;
    // Updated in place: a new object per lastSeen refresh would outlive a scavenge, then be old-generation garbage.
    const known = slot ?? slotOf(serial);
    const prev = known.shown;
    const next: Shown = prev ?? {
      emittedAtMs: now,
      registered: undefined,
      state: v.state,
      reason: '',
      problems: [],
      agentId: null,
      firmware: null,
      maintenance: false,
      contract: null,
      coverage: 'none',
    };
    next.emittedAtMs = now;
    next.registered = registry.get(serial);
    next.state = v.state;
    next.reason = v.reason ?? '';
    next.problems = v.problems ?? [];
    next.agentId = v.agentId;
    next.firmware = v.firmware;
    next.maintenance = v.maintenance === true;
    next.contract = v.contract;
    next.coverage = v.coverage ?? 'none';
    known.shown = next;
    bus.emit('device', v);
  }

  /** Whether the view of `serial` would differ from the last one emitted in anything but lastSeen (no view built). */
  function hasVisibleChange(slot: DeviceSlot<Shown>, prev: Shown, now: number): boolean {
    const serial = slot.serial;
    const reg = registry.get(serial);
    const st = detector.state(serial);
    const info = slot.live;
    if (reg !== prev.registered || st === undefined) return true;
    if (st.state !== prev.state || st.reason !== prev.reason || !isSameList(st.problems, prev.problems)) return true;
    if ((info?.agentId ?? st.agentId ?? null) !== prev.agentId || (info?.firmware ?? null) !== prev.firmware)
      return true;
    if (registry.isInMaintenance(serial, reg?.site ?? '', now) !== prev.maintenance) return true;
    const contract = registry.contractFor(serial, now);
    return (
      (contract?.number ?? null) !== prev.contract ||
      (contract?.isActive === true ? 'active' : 'none') !== prev.coverage
    );
  }

  function remember(
    slot: DeviceSlot<Shown>,
    record: HealthRecord,
    json: string | undefined,
    bytes: Buffer | undefined,
  ): void {
    const serial = slot.serial;
    let ring = slot.ring;
    if (ring === undefined) {
      ring = new RecordRing(ringSize);
      slot.ring = ring;
    }
    const text = json ?? JSON.stringify(record);
    ring.push(record.observedAt, bytes ?? text);
    // SQLite keeps a sampled history (the hot path must not write every record), but every sign of trouble.
    const nowMs = clock.now();
    const lastStored = slot.lastStoredAtMs;
    const isDue = lastStored === undefined || nowMs - lastStored >= config.detection.historyEveryMs;
    if (!isDue && !showsTrouble(record)) return;
    slot.lastStoredAtMs = nowMs;
    let pending = pendingRecords.get(serial);
    if (pending === undefined) {
      pending = [];
      pendingRecords.set(serial, pending);
    }
    pending.push({ serial, observedAt: record.observedAt, replayed: record.replayed === true, json: text });
    if (pending.length > ringSize) pending.shift();
  }

  const liveFlush = new LiveFlush({
    store,
    clock,
    intervalMs: config.detection.flushIntervalMs,
    chunkRows: FLUSH_CHUNK_ROWS,
    health: storage,
    log,
    takeDirty() {
      const rows: Array<[string, LiveInfo]> = [];
      for (const slot of devices.takeDirty()) {
        const info = slot.live;
        if (info === undefined) continue;
        rows.push([slot.serial, { lastSeen: isoOf(info.lastSeenMs), agentId: info.agentId, firmware: info.firmware }]);
      }
      const records: RecordText[] = [];
      for (const pending of pendingRecords.values()) for (const r of pending) records.push(r);
      pendingRecords.clear();
      return { live: rows, records };
    },
    retry: (serials) => {
      for (const serial of serials) markDirty(slotOf(serial));
    },
  });
  const flush = () => liveFlush.flush();

  new Gauge({
    name: 'hezo_devices',
    help: 'Devices by state',
    labelNames: ['state'],
    registers: [ctx.metrics],
    collect() {
      const counts = new Map<DeviceState, number>(STATES.map((s) => [s, 0]));
      for (const d of directory.list()) counts.set(d.state, (counts.get(d.state) ?? 0) + 1);
      for (const [state, n] of counts) this.labels(state).set(n);
    },
  });

  const directory: OutageModule = {
    name: 'outage',
    detector,
    list() {
      const serials = new Set<string>(registry.list().map((d) => d.serial));
      for (const serial of detector.serials()) serials.add(serial);
      return [...serials]
        .sort()
        .map((s) => view(s))
        .filter((v): v is DeviceView => v !== undefined);
    },
    get: view,
    async detail(serial) {
      const v = view(serial);
      if (v === undefined) return undefined;
      const ring = devices.get(serial)?.ring;
      const health =
        ring !== undefined && ring.size > 0
          ? ring.textsNewestFirst().map((text) => JSON.parse(text) as HealthRecord)
          : await store.recentRecords(serial);
      return { ...v, health, history: await store.transitions(serial, HISTORY_LIMIT) };
    },
    flush,
    async idle() {
      await transitionWrites.idle();
      await sideWrites.idle();
      await liveFlush.idle();
    },
    detach() {
      cancelReplay?.();
      for (const off of unsubscribe.splice(0)) off();
      freshness.stop();
      detector.stop();
    },
    async start() {
      await store.migrate();
      follower.start(); // other nodes' changes from now on (queued behind this restore), then the stored state
      for (const [serial, info] of await store.liveInfo()) {
        slotOf(serial).live = { lastSeenMs: Date.parse(info.lastSeen), agentId: info.agentId, firmware: info.firmware };
      }
      // Transitions stored but never announced (the hub died while the grouper held them) go through it again
      // once every module listens (a timer: the tickets module starts after this one). On a store shared by several
      // nodes, by the node that next uses the device's records (follow-nodes.ts): maybe another one.
      const waiting = await store.unannounced();
      const restored = await store.lastStates();
      if (follower.isShared) {
        follower.noteRestored(restored, waiting);
      } else if (waiting.length > 0) {
        log.warn({ transitions: waiting.length }, 'announcing transitions held when the hub stopped');
        cancelReplay = clock.setTimer(0, () => replayHeld(waiting));
      }
      for (const a of await store.openSiteAlerts()) grouper.restoreRaised(a.agentId, a.site, a.serials);
      for (const d of restored) if (d.faultAt !== undefined) faultAt.set(d.serial, d.faultAt);
      const flaps = await store.flapStates();
      detector.restore(
        restored.map((d) => {
          const reg = registry.get(d.serial);
          const withFlaps = { ...d, ...flaps.get(d.serial) };
          return reg === undefined ? withFlaps : { ...withFlaps, site: reg.site, customer: reg.customer };
        }),
      );
      unsubscribe.push(
        bus.on('ingest:health', (inbound) => {
          const record = inbound.message;
          try {
            registry.ensureFromRecord(record);
            storage.noteRecovered('registry');
          } catch (err) {
            // A new device's registry row could not be written (disk full): detection goes on; the next record retries.
            storage.noteFailure('registry', err, 'new devices not yet registered');
          }
          const isLive = detector.onHealth(inbound);
          if (isLive) {
            freshness.noteUsed(record.identity.serial, inbound.agentId, inbound.site, clock.now());
            const held = follower.noteUsed(record.identity.serial);
            if (held !== undefined) replayHeld([held]);
          }
          if (record.identity.hostSerial !== undefined)
            peripheralHosts.set(record.identity.serial, record.identity.hostSerial);
          const serial = record.identity.serial;
          const slot = slotOf(serial);
          if (isLive && hasAnsweringChannel(record)) {
            slot.lastAnsweredAtMs = clock.now();
            if (grouper.isHolding(inbound.agentId)) grouper.noteReachable(inbound.agentId, serial);
          }
          remember(slot, record, inbound.json, inbound.bytes);
          if (isLive) {
            const info = slot.live;
            if (info === undefined) {
              slot.live = {
                lastSeenMs: inbound.receivedAtMs,
                agentId: inbound.agentId,
                firmware: record.identity.firmware ?? null,
              };
            } else {
              info.lastSeenMs = inbound.receivedAtMs;
              info.agentId = inbound.agentId;
              if (record.identity.firmware !== undefined) info.firmware = record.identity.firmware;
            }
            markDirty(slot);
          }
          bus.emit('health', { record, receivedAt: isoOf(inbound.receivedAtMs) });
          if (isLive) {
            const now = clock.now();
            const prev = slot.shown;
            if (
              prev === undefined ||
              now - prev.emittedAtMs >= LAST_SEEN_REFRESH_MS ||
              hasVisibleChange(slot, prev, now)
            ) {
              announceDevice(serial, now, slot);
            }
          }
        }),
        bus.on('ingest:event', (inbound) => detector.onDeviceEvent(inbound)),
        bus.on('ingest:presence', (inbound) => detector.onPresence(inbound)),
        bus.on('ingest:heartbeat', (inbound) => {
          freshness.noteHeard(inbound.agentId, inbound.site, clock.now(), inbound.clockOffsetMs);
          detector.onHeartbeat(inbound);
        }),
        bus.on('rejected', (r) => {
          const parsed = safeParseTopic(r.topic);
          if (parsed !== undefined) freshness.noteRejected(parsed.agentId, parsed.site, r.reason, clock.now());
        }),
      );
      freshness.start();
      liveFlush.start();
    },
    async stop() {
      liveFlush.stop();
      for (const off of unsubscribe.splice(0)) off();
      freshness.stop();
      grouper.stop();
      await transitionWrites.drain();
      transitionWrites.stop();
      detector.stop();
      await flush();
      await sideWrites.idle();
      await follower.stop();
    },
  };
  ctx.services.devices = directory;
  return directory;
}

function safeParseTopic(topic: string): { site: string; agentId: string } | undefined {
  try {
    return parseTopic(topic);
  } catch {
    return undefined;
  }
}

/** A record with a failed channel or component: always stored in the SQLite history. */
function showsTrouble(record: HealthRecord): boolean {
  for (const probe of Object.values(record.reachability)) if (probe !== undefined && !probe.ok) return true;
  return record.components.some((c) => c.status === 'failed');
}
