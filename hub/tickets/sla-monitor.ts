/**
 * SLA monitor: one timer per ticket with running clocks (injected Clock), firing at the next warning (75 % of the
 * budget, measured like the clock: business time for P2/P3) or breach (100 %). Events are stored once
 * (unique per ticket, clock, level and due), so re-arming after a restart never duplicates them; an event that
 * fell due while the hub was down is recorded at start.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import type { BusinessCalendar } from '../calendar/business-calendar.ts';
import type { SlaEvent } from '../types.ts';
import { runningClocks } from './lifecycle.ts';
import { warningAt } from './sla-clocks.ts';
import type { TicketRow, TicketStore } from './store.ts';

/** Long timers are split so a far deadline never overflows setTimeout (2^31 ms). */
const MAX_TIMER_MS = 6 * 3_600_000;

export interface SlaMonitorDeps {
  store: TicketStore;
  clock: Clock;
  logger: Logger;
  calendarFor: (customer: string | null) => BusinessCalendar;
  /** Called once per newly recorded event (bus 'sla', metrics, notifications). */
  onEvent: (event: SlaEvent, row: TicketRow) => void;
  /** Issue 16: false for a site whose partition another hub node holds (it records and notifies there). */
  holds?: (site: string) => boolean;
}

export class SlaMonitor {
  private readonly deps: SlaMonitorDeps;
  private readonly timers = new Map<number, () => void>();
  private isRunning = false;

  constructor(deps: SlaMonitorDeps) {
    this.deps = deps;
  }

  /** Arm every open ticket with a running clock from the stored state (after a restart too). */
  start(): void {
    this.isRunning = true;
    const rows = this.deps.store.listRunning();
    for (const row of rows) this.track(row);
    this.deps.logger.info({ tickets: rows.length, timers: this.timers.size }, 'SLA monitor armed');
  }

  stop(): void {
    this.isRunning = false;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }

  get armedTickets(): number {
    return this.timers.size;
  }

  /** (Re-)evaluate one ticket after a change: record what is due, arm the next timer. */
  track(row: TicketRow): void {
    this.timers.get(row.seq)?.();
    this.timers.delete(row.seq);
    if (!this.isRunning) return;
    const next = this.evaluate(row);
    if (next === null) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - this.deps.clock.now()));
    const cancel = this.deps.clock.setTimer(delay, () => {
      this.timers.delete(row.seq);
      const fresh = this.deps.store.getBySeq(row.seq);
      if (fresh !== undefined) this.track(fresh);
    });
    this.timers.set(row.seq, cancel);
  }

  /** Record the events due by now; returns the instant of the next pending one, or null. */
  private evaluate(row: TicketRow): number | null {
    const now = this.deps.clock.now();
    const cal = this.deps.calendarFor(row.customer);
    let next: number | null = null;
    for (const c of runningClocks(row)) {
      const warnAt = warningAt(c.measure, c.startMs, c.dueMs, cal);
      if (now >= c.dueMs) {
        this.record(row, c.clock, 'breach', c.dueMs, now);
        continue;
      }
      if (now >= warnAt) this.record(row, c.clock, 'warning', c.dueMs, now);
      const pending = now >= warnAt ? c.dueMs : warnAt;
      if (next === null || pending < next) next = pending;
    }
    return next;
  }

  private record(row: TicketRow, clock: SlaEvent['clock'], level: SlaEvent['level'], dueMs: number, nowMs: number) {
    if (this.deps.holds?.(row.site ?? '') === false) return; // a ticket without a site: the holder of ''
    const at = new Date(nowMs).toISOString();
    let isNew: boolean;
    try {
      isNew = this.deps.store.recordSlaEvent(row.seq, clock, level, dueMs, at);
    } catch (err) {
      this.deps.logger.error({ err, ticket: row.id, clock, level }, 'SLA event not stored');
      return;
    }
    if (!isNew) return;
    const event: SlaEvent = {
      ticketId: row.id,
      serial: row.serial,
      priority: row.priority,
      clock,
      level,
      dueAt: new Date(dueMs).toISOString(),
      at,
    };
    const log =
      level === 'breach' ? this.deps.logger.error.bind(this.deps.logger) : this.deps.logger.warn.bind(this.deps.logger);
    log(
      { ticket: row.id, clock, dueAt: event.dueAt, priority: row.priority },
      level === 'breach' ? 'SLA breached' : 'SLA warning',
    );
    this.deps.onEvent(event, this.deps.store.getBySeq(row.seq) ?? row);
  }
}
