/**
 * SLA monitor: one timer per ticket with running clocks (injected Clock), firing at the next warning (75 % of the
 * budget, measured like the clock: business time for P2/P3) or breach (100 %). Events are stored once
 * (unique per ticket, clock, level and due), so re-arming after a restart never duplicates them; an event that
 * fell due while the hub was down is recorded at start. The armed timers come from the store (`listRunning`) and
 * from each ticket's stored row, so every hub node that loads them arms the same ones (issue 16); two nodes that
 * both record an event store it once and only the one that stored it announces it. Evaluations run one after
 * another (the store is async): a ticket's later change re-arms after its earlier one.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import type { BusinessCalendar } from '../calendar/business-calendar.ts';
import { SerialQueue } from '../store/serial-queue.ts';
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
  private readonly timers = new Map<number, { atMs: number; cancel: () => void }>();
  private readonly queue: SerialQueue;
  private isRunning = false;

  constructor(deps: SlaMonitorDeps) {
    this.deps = deps;
    this.queue = new SerialQueue((err) => deps.logger.error({ err }, 'SLA monitor failed to re-arm a ticket'));
  }

  /** Arm every open ticket with a running clock from the stored state (after a restart too). */
  async start(): Promise<void> {
    this.isRunning = true;
    const rows = await this.deps.store.listRunning();
    for (const row of rows) void this.track(row);
    await this.queue.idle();
    this.deps.logger.info({ tickets: rows.length, timers: this.timers.size }, 'SLA monitor armed');
  }

  /** Cancel every timer; settles when the evaluation under way (if any) is done. */
  async stop(): Promise<void> {
    this.isRunning = false;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    await this.queue.idle();
  }

  /** Settles when the evaluations asked so far (changes, fired timers) are done. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  get armedTickets(): number {
    return this.timers.size;
  }

  /** When each armed ticket's next warning or breach falls due (ticket seq -> ms): the same on every node. */
  armed(): Map<number, number> {
    return new Map([...this.timers].map(([seq, t]) => [seq, t.atMs]));
  }

  /** (Re-)evaluate one ticket after a change: record what is due, arm the next timer (in order, one at a time). */
  track(row: TicketRow): Promise<void> {
    return this.queue.push(async () => {
      this.timers.get(row.seq)?.cancel();
      this.timers.delete(row.seq);
      if (!this.isRunning) return;
      const next = await this.evaluate(row);
      if (next === null || !this.isRunning) return;
      const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - this.deps.clock.now()));
      const cancel = this.deps.clock.setTimer(delay, () => {
        this.timers.delete(row.seq);
        void this.queue.push(async () => {
          const fresh = await this.deps.store.getBySeq(row.seq);
          if (fresh !== undefined) void this.track(fresh);
        });
      });
      this.timers.set(row.seq, { atMs: next, cancel });
    });
  }

  /** Record the events due by now; returns the instant of the next pending one, or null. */
  private async evaluate(row: TicketRow): Promise<number | null> {
    const now = this.deps.clock.now();
    const cal = this.deps.calendarFor(row.customer);
    let next: number | null = null;
    for (const c of runningClocks(row)) {
      const warnAt = warningAt(c.measure, c.startMs, c.dueMs, cal);
      if (now >= c.dueMs) {
        await this.record(row, c.clock, 'breach', c.dueMs, now);
        continue;
      }
      if (now >= warnAt) await this.record(row, c.clock, 'warning', c.dueMs, now);
      const pending = now >= warnAt ? c.dueMs : warnAt;
      if (next === null || pending < next) next = pending;
    }
    return next;
  }

  private async record(
    row: TicketRow,
    clock: SlaEvent['clock'],
    level: SlaEvent['level'],
    dueMs: number,
    nowMs: number,
  ): Promise<void> {
    if (this.deps.holds?.(row.site ?? '') === false) return; // a ticket without a site: the holder of ''
    const at = new Date(nowMs).toISOString();
    let isNew: boolean;
    try {
      isNew = await this.deps.store.recordSlaEvent(row.seq, clock, level, dueMs, at);
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
    this.deps.onEvent(event, (await this.deps.store.getBySeq(row.seq)) ?? row);
  }
}
