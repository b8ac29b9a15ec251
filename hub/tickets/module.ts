/**
 * The tickets module (issue 6): store, lifecycle, SLA clocks and monitor, automatic tickets, notifications and
 * routes. Sets `ctx.services.tickets` (TicketDirectory) and `ctx.services.ticketService` (TicketService).
 */

import { every } from '../../protocols/clock.ts';
import { createCalendarResolver } from '../calendar/business-calendar.ts';
import { StaleEpochError, withFence } from '../cluster/fencing.ts';
import { dutiesOf } from '../cluster/partition-duties.ts';
import type { BusinessCalendarConfig } from '../config.ts';
import type { HubContext, HubModule } from '../context.ts';
import { hubNodeId } from '../node-id.ts';
import { NotificationLog } from '../notify/notification-log.ts';
import { Notifier } from '../notify/notifier.ts';
import { deliveryStaleAfterMs, TicketNotifications } from '../notify/ticket-notifications.ts';
import { isStoreUnavailable, OrderedRetry } from '../storage/ordered-retry.ts';
import { storageHealthOf } from '../storage/storage-health.ts';
import { NO_CHANGE_FEED } from '../store/change-feed.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { DeviceTransition } from '../types.ts';
import type { WriteFence } from './auto-open.ts';
import { attachAutoTickets, handleDeviceTransition } from './auto-tickets.ts';
import { registerConfirmRoute } from './confirm-routes.ts';
import { scheduleExpiryCheck } from './contracts.ts';
import { TicketPages } from './list-page.ts';
import { createTicketMetrics } from './metrics.ts';
import { registerNoteRoutes } from './note-routes.ts';
import { followOtherNodesTickets } from './remote-changes.ts';
import { registerTicketRoutes } from './routes.ts';
import { TicketsService } from './service.ts';
import { SiteAlertStore } from './site-alert-store.ts';
import { SlaMonitor } from './sla-monitor.ts';
import { TicketStore } from './store.ts';

export type { TicketService } from '../context.ts';
export { TicketsService } from './service.ts';

/** Days ahead the daily contract check warns about. */
const CONTRACT_WARNING_DAYS = 60;
/** How often owed ticket notifications (a node died before delivering them) are looked for. */
const OWED_NOTIFICATIONS_EVERY_MS = 60_000;

export interface TicketsModule extends HubModule {
  readonly service: TicketsService;
  readonly monitor: SlaMonitor;
  readonly notifier: Notifier;
  readonly store: TicketStore;
  /** Settles when the transitions, site alerts and other nodes' changes received so far are handled. */
  idle(): Promise<void>;
}

export function createTicketsModule(ctx: HubContext): TicketsModule {
  const logger = ctx.logger.child({ component: 'tickets' });
  const duties = dutiesOf(ctx); // issue 16: the automatic duties run only for sites whose partition this node holds
  const feed = ctx.services.changeFeed ?? NO_CHANGE_FEED;
  // issue 16: on ctx.sql (PostgreSQL with database.url, shared by every hub node); writes tell the other nodes
  const store = new TicketStore(ctx.sql, feed);
  const siteAlerts = new SiteAlertStore(ctx.sql);
  /** Transitions, site alerts and other nodes' changes: stored in arrival order; stop waits for them. */
  const writes = new SerialQueue((err) => logger.error({ err }, 'ticket write failed'));
  /**
   * Issue 16: in a cluster an automatic ticket opens inside the fenced transaction of the site's partition holder, so
   * a node that lost its lease (whatever it believes) cannot open a duplicate; one node alone writes unfenced.
   */
  const fenceFor = (site: string): WriteFence | undefined => {
    if (!duties.isClustered) return undefined;
    const partition = duties.partitionOf(site);
    const epoch = duties.epochFor(site);
    if (epoch === undefined) {
      return (() =>
        Promise.reject(
          new StaleEpochError(partition, 0, undefined, 'this node does not hold the partition'),
        )) as WriteFence;
    }
    return (write) => withFence(ctx.sql, partition, epoch, write);
  };
  const overrides = new Map<string, BusinessCalendarConfig>();
  for (const c of ctx.config.customers) if (c.calendar !== undefined) overrides.set(c.id, c.calendar);
  const calendarFor = createCalendarResolver(ctx.config.calendar, overrides);
  const metrics = createTicketMetrics(ctx.metrics, store);
  const notifier = new Notifier(ctx.config.notifications, {
    clock: ctx.clock,
    logger: ctx.logger.child({ component: 'notify' }),
    metrics: ctx.metrics,
  });
  const notificationLog = new NotificationLog(ctx.sql, hubNodeId(ctx.config));
  const ticketNotifications = new TicketNotifications({
    log: notificationLog,
    notifier,
    clock: ctx.clock,
    logger: logger.child({ component: 'notify' }),
    ticket: async (id) => {
      const t = await service.get(id);
      if (t === undefined) return undefined;
      const { history: _history, ...view } = t;
      return view;
    },
    holds: (site) => duties.holds(site),
    staleAfterMs: deliveryStaleAfterMs(ctx.config.notifications),
  });
  const sweepOwed = () =>
    void ticketNotifications.sweep().catch((err: unknown) => logger.warn({ err }, 'owed notifications not sent'));
  const monitor = new SlaMonitor({
    store,
    clock: ctx.clock,
    logger: logger.child({ component: 'sla' }),
    calendarFor,
    holds: (site) => duties.holds(site),
    onEvent: (event) => {
      metrics.countSlaEvent(event);
      ctx.bus.emit('sla', event);
    },
  });
  const service = new TicketsService({
    store,
    clock: ctx.clock,
    logger,
    calendarFor,
    registry: () => ctx.services.registry,
    emit: (ticket, change) => {
      if (change === 'opened') metrics.countOpened(ticket.priority, ticket.channel);
      ctx.bus.emit('ticket', { ticket, change });
    },
    onCommitted: (row) => monitor.track(row),
  });
  ctx.services.tickets = service;
  ctx.services.ticketService = service;
  // Serialised list pages, dropped on every ticket or SLA change.
  const pages = new TicketPages(store);
  registerTicketRoutes(ctx.http, {
    service,
    siteAlerts,
    pages,
    config: ctx.config,
    clock: ctx.clock,
    registry: () => ctx.services.registry,
    onError: (err) => logger.error({ err }, 'ticket API request failed'),
  });
  registerNoteRoutes(ctx.http, service);
  registerConfirmRoute(ctx.http, service);

  // Automatic tickets are written in transition order; a storage failure (disk full) keeps the transition and
  // every later one for a retry, so the ticket opens once space returns (issue 19). Other errors are logged.
  const autoTickets = new OrderedRetry<DeviceTransition>({
    store: 'tickets',
    waitingWhat: 'device transition(s) waiting for their automatic ticket',
    clock: ctx.clock,
    retryMs: 5000,
    health: storageHealthOf(ctx),
    log: logger,
    async apply(t) {
      try {
        await handleDeviceTransition(service, t, logger, fenceFor);
      } catch (err) {
        if (err instanceof StaleEpochError) {
          // the site's partition moved to another node meanwhile: its holder handles the fault (issue 16)
          logger.info(
            { serial: t.serial, to: t.to, partition: err.partition },
            'automatic ticket left to the new holder',
          );
          return;
        }
        if (!isStoreUnavailable(err)) logger.error({ err, serial: t.serial, to: t.to }, 'automatic ticket failed');
        throw err;
      }
    },
    isRetryable: isStoreUnavailable,
  });
  const offs: (() => void)[] = [];
  return {
    name: 'tickets',
    service,
    monitor,
    notifier,
    store,
    async idle() {
      // a step may start the next (a transition -> a ticket -> its clocks -> an SLA event -> a notification)
      for (let round = 0; round < 5; round++) {
        await autoTickets.idle();
        await writes.idle();
        await service.idle();
        await monitor.idle();
      }
    },
    async start() {
      await store.migrate();
      await notificationLog.migrate(() => new Date(ctx.clock.now()).toISOString());
      // other nodes' changes are followed BEFORE the owners and the timers are loaded: none falls in between
      offs.push(
        followOtherNodesTickets({
          feed,
          store,
          service,
          bus: ctx.bus,
          queue: writes,
          invalidatePages: () => pages.invalidate(),
          track: (row) => monitor.track(row),
        }),
      );
      await service.start();
      await monitor.start();
      pages.invalidate();
      offs.push(
        ctx.bus.on('ticket', () => pages.invalidate()),
        ctx.bus.on('sla', () => pages.invalidate()),
      );
      offs.push(
        attachAutoTickets({
          bus: ctx.bus,
          service,
          siteAlerts,
          logger,
          retry: autoTickets,
          queue: writes,
          holds: duties.holds,
          fenceFor,
        }),
        // a partition gained: arm the clocks its holder ran until now (events already recorded are not repeated)
        duties.onChange(({ isHeld }) => {
          if (!isHeld) return;
          void monitor.start();
          sweepOwed();
        }),
      );
      offs.push(
        ctx.bus.on('ticket', ({ ticket, change }) => {
          if (ticket.channel === 'auto' && !duties.holds(ticket.site ?? '')) return;
          if (change === 'opened' || change === 'escalated') {
            void writes.push(() => ticketNotifications.notify(`ticket.${change}`, ticket));
          }
        }),
        // what a node that died left owed: now, and from time to time (a node gone for good)
        every(ctx.clock, OWED_NOTIFICATIONS_EVERY_MS, sweepOwed),
      );
      sweepOwed();
      offs.push(
        ctx.bus.on('sla', (event) => {
          void writes.push(async () => {
            const ticket = await service.get(event.ticketId);
            if (ticket === undefined) return;
            const { history: _history, ...view } = ticket;
            notifier.notify({ event: `sla.${event.level}`, at: event.at, ticket: view, sla: event });
          });
        }),
      );
      offs.push(
        scheduleExpiryCheck({
          config: ctx.config,
          registry: () => ctx.services.registry,
          clock: ctx.clock,
          logger,
          days: CONTRACT_WARNING_DAYS,
        }),
      );
    },
    async stop() {
      for (const off of offs.splice(0)) off();
      // the transitions received before the stop are written (or left waiting for their retry), then no more
      await autoTickets.idle();
      autoTickets.stop();
      await writes.idle();
      await service.idle();
      await monitor.stop();
      notifier.stop();
    },
  };
}
