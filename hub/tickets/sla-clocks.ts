/**
 * SLA clock arithmetic, exactly as sla-rules.md "Clock arithmetic" says. Pure functions over a
 * BusinessCalendar; the hub (tickets, SLA monitor) and `hezo sla deadlines` share this one file.
 * Instants are epoch milliseconds.
 */
import { DateTime } from 'luxon';
import type { BusinessCalendar } from '../calendar/business-calendar.ts';
import type { Priority, SlaClockName } from '../types.ts';

const HOUR_MS = 60 * 60 * 1000;

/** SLA-6/SLA-7 (table): reaction and update budgets per priority; P1 in elapsed time, P2/P3 in business time. */
export const SLA_TARGETS: Readonly<Record<Priority, { reactionMs: number; updateMs: number; measure: ClockMeasure }>> =
  {
    P1: { reactionMs: 1 * HOUR_MS, updateMs: 1 * HOUR_MS, measure: 'elapsed' },
    P2: { reactionMs: 1 * HOUR_MS, updateMs: 2 * HOUR_MS, measure: 'business' },
    // SLA-8 DECISION: the table wins, P3 reaction = 4 h (not the "one hour for all tickets" sentence).
    P3: { reactionMs: 4 * HOUR_MS, updateMs: 4 * HOUR_MS, measure: 'business' },
  };

/** How a clock's budget is measured: real elapsed time (24x7) or business time (8x5). */
export type ClockMeasure = 'elapsed' | 'business';

/** Share of the budget at which a warning is raised. */
export const WARNING_FRACTION = 0.75;

/** Clock start: P1 when sent (24x7 intake); P2/P3 at the first business instant at or after it (SLA-5). */
export function clockStart(priority: Priority, sentMs: number, cal: BusinessCalendar): number {
  return priority === 'P1' ? sentMs : cal.nextBusinessInstant(sentMs);
}

function addBudget(priority: Priority, fromMs: number, budgetMs: number, cal: BusinessCalendar): number {
  return SLA_TARGETS[priority].measure === 'elapsed' ? fromMs + budgetMs : cal.addBusinessTime(fromMs, budgetMs);
}

/** Reaction due from the clock start (SLA-6): P1 +1 h real time, P2 +1 business h, P3 +4 business h. */
export function reactionDue(priority: Priority, startMs: number, cal: BusinessCalendar): number {
  return addBudget(priority, startMs, SLA_TARGETS[priority].reactionMs, cal);
}

/** Next update due after a contact at T (SLA-7): P1 T+1 h elapsed, P2 T+2 business h, P3 T+4 business h. */
export function nextUpdateDue(priority: Priority, contactMs: number, cal: BusinessCalendar): number {
  return addBudget(priority, contactMs, SLA_TARGETS[priority].updateMs, cal);
}

/** SLA-13: delivery applies to P1 and P2 only. */
export function hasDeliveryClock(priority: Priority): boolean {
  return priority === 'P1' || priority === 'P2';
}

/** Delivery due after acceptance at A (SLA-12): the close (16:00) of the first business day after A's local date. */
export function deliveryDue(acceptedMs: number, cal: BusinessCalendar): number {
  return cal.window(cal.nextBusinessDay(cal.localDate(acceptedMs))).closeMs;
}

/** Return due after delivery at D (SLA-14): D's local date + 7 days at D's local wall time (DST-safe). */
export function returnDue(deliveredMs: number, cal: BusinessCalendar): number {
  return DateTime.fromMillis(deliveredMs, { zone: cal.timeZone }).plus({ days: 7 }).toMillis();
}

/** How each clock's budget is measured, so warnings at 75 % are measured the same way as the clock. */
export function clockMeasure(clock: SlaClockName, priority: Priority): ClockMeasure {
  switch (clock) {
    case 'reaction':
    case 'update':
      return SLA_TARGETS[priority].measure;
    case 'delivery':
      // "next business day": business days, whatever the priority.
      return 'business';
    case 'return':
      // SLA-14: calendar days.
      return 'elapsed';
  }
}

/** The instant at which a running clock reaches WARNING_FRACTION of its budget [start, due]. */
export function warningAt(measure: ClockMeasure, startMs: number, dueMs: number, cal: BusinessCalendar): number {
  if (dueMs <= startMs) return dueMs;
  if (measure === 'elapsed') return startMs + Math.floor((dueMs - startMs) * WARNING_FRACTION);
  const budget = cal.businessTimeBetween(startMs, dueMs);
  if (budget === 0) return startMs + Math.floor((dueMs - startMs) * WARNING_FRACTION);
  return cal.addBusinessTime(startMs, Math.floor(budget * WARNING_FRACTION));
}

export interface SlaDeadlinesInput {
  priority: Priority;
  openedMs: number;
  acknowledgedMs?: number;
  acceptedMs?: number;
  deliveredMs?: number;
}

export interface SlaDeadlines {
  clockStart: number;
  reactionDue: number;
  nextUpdateDue?: number;
  /** null for P3 (SLA-13). */
  deliveryDue?: number | null;
  returnDue?: number;
}

/** All deadlines of one ticket's timeline (what `hezo sla deadlines` prints). */
export function computeDeadlines(input: SlaDeadlinesInput, cal: BusinessCalendar): SlaDeadlines {
  const start = clockStart(input.priority, input.openedMs, cal);
  const out: SlaDeadlines = { clockStart: start, reactionDue: reactionDue(input.priority, start, cal) };
  if (input.acknowledgedMs !== undefined) out.nextUpdateDue = nextUpdateDue(input.priority, input.acknowledgedMs, cal);
  if (input.acceptedMs !== undefined) {
    out.deliveryDue = hasDeliveryClock(input.priority) ? deliveryDue(input.acceptedMs, cal) : null;
  }
  if (input.deliveredMs !== undefined) out.returnDue = returnDue(input.deliveredMs, cal);
  return out;
}
