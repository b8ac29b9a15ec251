/**
 * Automatic tickets from the detector (bus `device-state`) and site alerts (bus `site-alert`).
 * - `down` opens a P1 (24x7), `degraded` a P2, at once; one open automatic ticket per device: a repeat adds a
 *   history entry, a degraded device that dies raises its P2 to P1 (the service does the bookkeeping).
 * - `up` is recorded on the open ticket (it stays open for an engineer); `unknown` (agent offline) opens nothing.
 * - Transitions inside a maintenance window open and record nothing.
 * - A site alert (agent offline) is stored and listed at `GET /api/site-alerts`; it never opens per-device tickets.
 * The store is async (issue 16): transitions and site alerts are written one after another, in arrival order.
 */
import type { Logger } from 'pino';
import type { HubBus } from '../events.ts';
import type { SerialQueue } from '../store/serial-queue.ts';
import type { DeviceTransition, SiteAlert } from '../types.ts';
import type { WriteFence } from './auto-open.ts';
import type { TicketsService } from './service.ts';
import type { SiteAlertStore } from './site-alert-store.ts';

export async function handleDeviceTransition(
  service: TicketsService,
  t: DeviceTransition,
  logger: Logger,
  fenceFor?: (site: string) => WriteFence | undefined,
): Promise<void> {
  if (t.inMaintenance) {
    logger.debug({ serial: t.serial, to: t.to }, 'device change in maintenance: no ticket');
    return;
  }
  if (t.groupedInSiteAlert === true) {
    logger.debug({ serial: t.serial, to: t.to }, 'device down within a site alert: no ticket');
    return;
  }
  switch (t.to) {
    case 'down':
    case 'degraded':
      await service.openAuto(
        {
          serial: t.serial,
          state: t.to,
          reason: t.reason,
          evidence: t.evidence,
          site: t.site,
          customer: t.customer,
          at: t.at,
        },
        fenceFor?.(t.site),
      );
      return;
    case 'up':
    case 'unknown':
      await service.recordDeviceState(t);
      return;
  }
}

export function attachAutoTickets(deps: {
  bus: HubBus;
  service: TicketsService;
  siteAlerts: SiteAlertStore;
  logger: Logger;
  onSiteAlert?: (alert: SiteAlert) => void;
  /** Runs each transition in order and keeps the ones whose write failed for a retry (hub/storage/ordered-retry.ts). */
  retry?: { push(t: DeviceTransition): void };
  /** Issue 16: false for a site whose partition another hub node holds (its duties run there). */
  holds?: (site: string) => boolean;
  /** Issue 16: the fenced transaction of the site's partition holder an automatic ticket opens in. */
  fenceFor?: (site: string) => WriteFence | undefined;
  /** Runs the writes in arrival order (without `retry`, the transitions too). */
  queue: SerialQueue;
}): () => void {
  const { bus, service, siteAlerts, logger, queue } = deps;
  const offState = bus.on('device-state', (t) => {
    if (deps.holds?.(t.site) === false) return;
    if (deps.retry !== undefined) {
      deps.retry.push(t);
      return;
    }
    void queue.push(() =>
      handleDeviceTransition(service, t, logger, deps.fenceFor).catch((err: unknown) => {
        logger.error({ err, serial: t.serial, to: t.to }, 'automatic ticket failed');
      }),
    );
  });
  const offSite = bus.on('site-alert', (alert) => {
    if (deps.holds?.(alert.site) === false) return;
    void queue.push(async () => {
      try {
        await siteAlerts.insertSiteAlert(alert);
        logger.warn(
          { site: alert.site, agentId: alert.agentId, status: alert.status, devices: alert.serials.length },
          'site alert recorded',
        );
        deps.onSiteAlert?.(alert);
      } catch (err) {
        logger.error({ err, site: alert.site }, 'site alert not stored');
      }
    });
  });
  return () => {
    offState();
    offSite();
  };
}
