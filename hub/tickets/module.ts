/**
 * The tickets module (issue 6): store, lifecycle, SLA clocks and monitor, automatic tickets, notifications and
 * routes. Sets `ctx.services.tickets` (TicketDirectory) and `ctx.services.ticketService` (TicketService).
 */

import { createCalendarResolver } from '../calendar/business-calendar.ts';
import { dutiesOf } from '../cluster/partition-duties.ts';
import type { BusinessCalendarConfig } from '../config.ts';
import type { HubContext, HubModule } from '../context.ts';
import { Notifier } from '../notify/notifier.ts';
import { OrderedRetry } from '../storage/ordered-retry.ts';
import { isStorageError, storageHealthOf } from '../storage/storage-health.ts';
import type { DeviceTransition } from '../types.ts';
import { attachAutoTickets, handleDeviceTransition } from './auto-tickets.ts';
import { registerConfirmRoute } from './confirm-routes.ts';
import { scheduleExpiryCheck } from './contracts.ts';
import { TicketPages } from './list-page.ts';
import { createTicketMetrics } from './metrics.ts';
import { registerNoteRoutes } from './note-routes.ts';
import { registerTicketRoutes } from './routes.ts';
import { TicketsService } from './service.ts';
import { SlaMonitor } from './sla-monitor.ts';
import { TicketStore } from './store.ts';

export type { TicketService } from '../context.ts';
export { TicketsService } from './service.ts';

/** Days ahead the daily contract check warns about. */
const CONTRACT_WARNING_DAYS = 60;

export interface TicketsModule extends HubModule {
  readonly service: TicketsService;
  readonly monitor: SlaMonitor;
  readonly notifier: Notifier;
  readonly store: TicketStore;
}

export function createTicketsModule(ctx: HubContext): TicketsModule {
  const logger = ctx.logger.child({ component: 'tickets' });
  const duties = dutiesOf(ctx); // issue 16: the automatic duties run only for sites whose partition this node holds
  const store = new TicketStore(ctx.db);
  const overrides = new Map<string, BusinessCalendarConfig>();
  for (const c of ctx.config.customers) if (c.calendar !== undefined) overrides.set(c.id, c.calendar);
  const calendarFor = createCalendarResolver(ctx.config.calendar, overrides);
  const metrics = createTicketMetrics(ctx.metrics, store);
  const notifier = new Notifier(ctx.config.notifications, {
    clock: ctx.clock,
    logger: ctx.logger.child({ component: 'notify' }),
    metrics: ctx.metrics,
  });
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
  const pages = new TicketPages(ctx.db, store);
  registerTicketRoutes(ctx.http, {
    service,
    store,
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
    apply(t) {
      try {
        handleDeviceTransition(service, t, logger);
      } catch (err) {
        if (isStorageError(err)) throw err;
        logger.error({ err, serial: t.serial, to: t.to }, 'automatic ticket failed');
      }
    },
  });
  const offs: (() => void)[] = [];
  return {
    name: 'tickets',
    service,
    monitor,
    notifier,
    store,
    start() {
      monitor.start();
      pages.invalidate();
      offs.push(
        ctx.bus.on('ticket', () => pages.invalidate()),
        ctx.bus.on('sla', () => pages.invalidate()),
      );
      offs.push(
        attachAutoTickets({ bus: ctx.bus, service, store, logger, retry: autoTickets, holds: duties.holds }),
        // a partition gained: arm the clocks its holder ran until now (events already recorded are not repeated)
        duties.onChange(({ isHeld }) => {
          if (isHeld) monitor.start();
        }),
      );
      offs.push(() => autoTickets.stop());
      offs.push(
        ctx.bus.on('ticket', ({ ticket, change }) => {
          if (ticket.channel === 'auto' && !duties.holds(ticket.site ?? '')) return;
          if (change === 'opened' || change === 'escalated') {
            notifier.notify({ event: `ticket.${change}`, at: new Date(ctx.clock.now()).toISOString(), ticket });
          }
        }),
      );
      offs.push(
        ctx.bus.on('sla', (event) => {
          const ticket = service.get(event.ticketId);
          if (ticket === undefined) return;
          const { history: _history, ...view } = ticket;
          notifier.notify({ event: `sla.${event.level}`, at: event.at, ticket: view, sla: event });
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
      return Promise.resolve();
    },
    stop() {
      for (const off of offs.splice(0)) off();
      monitor.stop();
      notifier.stop();
      return Promise.resolve();
    },
  };
}
