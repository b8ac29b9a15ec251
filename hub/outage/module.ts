/**
 * Detection as a hub module: feeds the detector from the bus (`ingest:*`), stores every transition, then
 * announces it (`device-state`, then `device` with the new view), and serves `ctx.services.devices`.
 * Hot path per health record: map lookups, a ring push, one `device` event; SQLite only in the batched flush.
 */
import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import type { HealthRecord } from '../../protocols/health.ts';
import type { DeviceDirectory, HubContext, HubModule } from '../context.ts';
import type { Registry } from '../registry/registry.ts';
import type { DeviceState, DeviceView, StoredTransition } from '../types.ts';
import { Detector } from './detector.ts';
import { type LiveInfo, OutageStore } from './store.ts';

export interface DeviceDetail extends DeviceView {
  /** Recent health records, newest first. */
  health: HealthRecord[];
  /** State changes, newest first. */
  history: StoredTransition[];
}

export interface OutageModule extends HubModule, DeviceDirectory {
  readonly detector: Detector;
  detail(serial: string): DeviceDetail | undefined;
  /** Write pending lastSeen and recent records now. */
  flush(): void;
}

const STATES: readonly DeviceState[] = ['up', 'degraded', 'down', 'unknown'];
const HISTORY_LIMIT = 100;

export function createOutageModule(ctx: HubContext, registry: Registry): OutageModule {
  const { bus, clock, config, logger, db } = ctx;
  const log: Logger = logger.child({ component: 'outage' });
  const ringSize = config.detection.recentRecordsPerDevice;
  const store = new OutageStore(db, ringSize);
  const rings = new Map<string, HealthRecord[]>();
  const live = new Map<string, LiveInfo>();
  const dirtyLive = new Set<string>();
  const pendingRecords = new Map<string, HealthRecord[]>();
  const unsubscribe: Array<() => void> = [];
  let cancelFlush: (() => void) | undefined;

  const detector = new Detector({
    config: config.detection,
    clock,
    isInMaintenance: (serial, site, atMs) => registry.isInMaintenance(serial, site, atMs),
    deviceInfo: (serial) => registry.get(serial),
    sink: {
      transition(t) {
        store.insertTransition(t);
        const level = t.to === 'up' || t.to === 'unknown' ? 'info' : 'warn';
        log[level](
          { serial: t.serial, from: t.from, to: t.to, reason: t.reason, inMaintenance: t.inMaintenance },
          'device state changed',
        );
        bus.emit('device-state', t);
        const v = view(t.serial);
        if (v !== undefined) bus.emit('device', v);
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
    },
  });

  function view(serial: string): DeviceView | undefined {
    const reg = registry.get(serial);
    const st = detector.state(serial);
    if (reg === undefined && st === undefined) return undefined;
    const now = clock.now();
    const info = live.get(serial);
    const site = reg?.site ?? '';
    const contract = registry.contractFor(serial, now);
    const result: DeviceView = {
      serial,
      model: reg?.model ?? 'unknown',
      site,
      customer: reg?.customer ?? '',
      state: st?.state ?? 'unknown',
      since: new Date(st?.sinceMs ?? Date.parse(reg?.createdAt ?? new Date(now).toISOString())).toISOString(),
      lastSeen: info?.lastSeen ?? null,
      agentId: info?.agentId ?? st?.agentId ?? null,
      firmware: info?.firmware ?? null,
      contract: contract?.number ?? null,
      coverage: contract?.isActive === true ? 'active' : 'none',
      reason: st?.reason ?? 'registered',
      problems: st?.problems ?? [],
      maintenance: registry.isInMaintenance(serial, site, now),
    };
    if (reg?.name !== undefined) result.name = reg.name;
    return result;
  }

  function remember(record: HealthRecord): void {
    const serial = record.identity.serial;
    let ring = rings.get(serial);
    if (ring === undefined) {
      ring = [];
      rings.set(serial, ring);
    }
    ring.push(record);
    // Replayed records arrive late: keep the ring in time order (a short insertion from the end).
    for (let i = ring.length - 1; i > 0 && (ring[i - 1]?.observedAt ?? '') > record.observedAt; i--) {
      ring[i] = ring[i - 1]!;
      ring[i - 1] = record;
    }
    if (ring.length > ringSize) ring.shift();
    let pending = pendingRecords.get(serial);
    if (pending === undefined) {
      pending = [];
      pendingRecords.set(serial, pending);
    }
    pending.push(record);
    if (pending.length > ringSize) pending.shift();
  }

  function flush(): void {
    if (dirtyLive.size === 0 && pendingRecords.size === 0) return;
    const liveBatch = [...dirtyLive].map((serial) => [serial, live.get(serial)!] as [string, LiveInfo]);
    const records = [...pendingRecords.values()].flat();
    dirtyLive.clear();
    pendingRecords.clear();
    try {
      store.flush(liveBatch, records);
    } catch (err) {
      log.error({ err, devices: liveBatch.length }, 'flush failed');
    }
  }

  function scheduleFlush(): void {
    cancelFlush = clock.setTimer(config.detection.flushIntervalMs, () => {
      flush();
      scheduleFlush();
    });
  }

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
    detail(serial) {
      const v = view(serial);
      if (v === undefined) return undefined;
      const ring = rings.get(serial);
      const health = ring !== undefined && ring.length > 0 ? [...ring].reverse() : store.recentRecords(serial);
      return { ...v, health, history: store.transitions(serial, HISTORY_LIMIT) };
    },
    flush,
    start() {
      store.migrate();
      for (const [serial, info] of store.liveInfo()) live.set(serial, info);
      detector.restore(
        store.lastStates().map((d) => {
          const reg = registry.get(d.serial);
          return reg === undefined ? d : { ...d, site: reg.site, customer: reg.customer };
        }),
      );
      unsubscribe.push(
        bus.on('ingest:health', (inbound) => {
          const record = inbound.message;
          registry.ensureFromRecord(record);
          const isLive = detector.onHealth(inbound);
          remember(record);
          const serial = record.identity.serial;
          if (isLive) {
            live.set(serial, {
              lastSeen: new Date(inbound.receivedAtMs).toISOString(),
              agentId: inbound.agentId,
              firmware: record.identity.firmware ?? live.get(serial)?.firmware ?? null,
            });
            dirtyLive.add(serial);
          }
          bus.emit('health', { record, receivedAt: new Date(inbound.receivedAtMs).toISOString() });
          if (isLive) {
            const v = view(serial);
            if (v !== undefined) bus.emit('device', v);
          }
        }),
        bus.on('ingest:event', (inbound) => detector.onDeviceEvent(inbound)),
        bus.on('ingest:presence', (inbound) => detector.onPresence(inbound)),
        bus.on('ingest:heartbeat', (inbound) => detector.onHeartbeat(inbound)),
      );
      scheduleFlush();
      return Promise.resolve();
    },
    stop() {
      for (const off of unsubscribe.splice(0)) off();
      cancelFlush?.();
      detector.stop();
      flush();
      return Promise.resolve();
    },
  };
  ctx.services.devices = directory;
  return directory;
}
