/**
 * The ticket lifecycle as a pure state machine (sla-rules.md "Ticket lifecycle") and what each step does to the
 * SLA clocks. No I/O: the store persists what these functions return.
 *
 * Which clocks run in which state (DECISION where the rules are silent):
 * - reaction: while `open` (acknowledged = the engineer contacted the reporter, SLA-6);
 * - update:   while `acknowledged` or `verifying` (SLA-7); a contact restarts it; once the ticket is accepted the
 *             delivery clock takes over, so the update clock stops at `accepted`/`rejected`/`closed`;
 * - delivery: while `accepted` or `replacement_shipped`, P1/P2 only (SLA-12, SLA-13);
 * - return:   while `replacement_delivered` (SLA-14).
 * A ticket without an active contract (coverage `none`, SLA-2) runs no clocks at all.
 */
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { BusinessCalendar } from '../calendar/business-calendar.ts';
import type { Priority, SlaClockName, TicketState } from '../types.ts';
import {
  type ClockMeasure,
  clockMeasure,
  clockStart,
  deliveryDue,
  hasDeliveryClock,
  nextUpdateDue,
  reactionDue,
  returnDue,
} from './sla-clocks.ts';

export const ALLOWED_TRANSITIONS: Readonly<Record<TicketState, readonly TicketState[]>> = {
  open: ['acknowledged'],
  acknowledged: ['verifying', 'closed'],
  verifying: ['accepted', 'rejected', 'closed'],
  accepted: ['replacement_shipped'],
  rejected: [],
  replacement_shipped: ['replacement_delivered'],
  replacement_delivered: ['faulty_returned'],
  faulty_returned: ['closed'],
  closed: [],
};

export const TICKET_STATES = Object.keys(ALLOWED_TRANSITIONS) as TicketState[];

/** `open` in the API sense: every state but `closed` and `rejected`. */
export function isOpenState(state: TicketState): boolean {
  return state !== 'closed' && state !== 'rejected';
}

/** Start and due instants (epoch ms) of every clock; null = never started. */
export interface SlaClocks {
  clockStartMs: number | null;
  reactionDueMs: number | null;
  updateStartMs: number | null;
  updateDueMs: number | null;
  deliveryStartMs: number | null;
  deliveryDueMs: number | null;
  returnStartMs: number | null;
  returnDueMs: number | null;
}

export const NO_CLOCKS: Readonly<SlaClocks> = {
  clockStartMs: null,
  reactionDueMs: null,
  updateStartMs: null,
  updateDueMs: null,
  deliveryStartMs: null,
  deliveryDueMs: null,
  returnStartMs: null,
  returnDueMs: null,
};

export interface ClockedTicket {
  state: TicketState;
  priority: Priority;
  coverage: 'active' | 'none';
  clocks: SlaClocks;
}

export interface RunningClock {
  clock: SlaClockName;
  startMs: number;
  dueMs: number;
  measure: ClockMeasure;
}

/** The clocks a new ticket starts with (sent at `sentMs`). */
export function initialClocks(
  priority: Priority,
  coverage: 'active' | 'none',
  sentMs: number,
  cal: BusinessCalendar,
): SlaClocks {
  if (coverage === 'none') return { ...NO_CLOCKS };
  const start = clockStart(priority, sentMs, cal);
  return { ...NO_CLOCKS, clockStartMs: start, reactionDueMs: reactionDue(priority, start, cal) };
}

/** Throws TRANSITION_NOT_ALLOWED naming from, to and the allowed targets. */
export function assertTransition(from: TicketState, to: TicketState): void {
  const allowed = ALLOWED_TRANSITIONS[from];
  if (!allowed.includes(to)) {
    const list = allowed.length === 0 ? 'none (final state)' : allowed.join(', ');
    throw new AppError(
      ErrorCode.TRANSITION_NOT_ALLOWED,
      `transition ${from} -> ${to} is not allowed; allowed from ${from}: ${list}`,
    );
  }
}

/** The ticket after moving to `to` at `atMs`: state and clocks (throws for a disallowed transition). */
export function applyTransition(
  ticket: ClockedTicket,
  to: TicketState,
  atMs: number,
  cal: BusinessCalendar,
): { state: TicketState; clocks: SlaClocks } {
  assertTransition(ticket.state, to);
  const clocks = { ...ticket.clocks };
  if (ticket.coverage === 'active') {
    switch (to) {
      case 'acknowledged':
        clocks.updateStartMs = atMs;
        clocks.updateDueMs = nextUpdateDue(ticket.priority, atMs, cal);
        break;
      case 'accepted':
        if (hasDeliveryClock(ticket.priority)) {
          clocks.deliveryStartMs = atMs;
          clocks.deliveryDueMs = deliveryDue(atMs, cal);
        }
        break;
      case 'replacement_delivered':
        clocks.returnStartMs = atMs;
        clocks.returnDueMs = returnDue(atMs, cal);
        break;
      case 'open':
      case 'verifying':
      case 'rejected':
      case 'replacement_shipped':
      case 'faulty_returned':
      case 'closed':
        break;
    }
  }
  return { state: to, clocks };
}

/** A contact with the reporter at `atMs` restarts the update clock when it runs (SLA-7). */
export function applyContact(ticket: ClockedTicket, atMs: number, cal: BusinessCalendar): SlaClocks {
  if (!isClockRunning(ticket, 'update')) return ticket.clocks;
  return { ...ticket.clocks, updateStartMs: atMs, updateDueMs: nextUpdateDue(ticket.priority, atMs, cal) };
}

/**
 * A P2 ticket raised to P1 at `atMs` (the device died): the running reaction or update clock is recomputed
 * from the escalation time with P1 rules; delivery and return clocks are not priority-dependent in time.
 */
export function applyEscalation(ticket: ClockedTicket, atMs: number, cal: BusinessCalendar): SlaClocks {
  const clocks = { ...ticket.clocks };
  if (ticket.coverage === 'none') return clocks;
  if (ticket.state === 'open') {
    clocks.clockStartMs = clockStart('P1', atMs, cal);
    clocks.reactionDueMs = reactionDue('P1', clocks.clockStartMs, cal);
  } else if (isClockRunning(ticket, 'update')) {
    clocks.updateStartMs = atMs;
    clocks.updateDueMs = nextUpdateDue('P1', atMs, cal);
  }
  return clocks;
}

/** A later delivery date agreed with the customer replaces the delivery due (SLA-12). */
export function applyDeliveryAgreement(ticket: ClockedTicket, dueMs: number, cal: BusinessCalendar): SlaClocks {
  if (!isClockRunning(ticket, 'delivery')) {
    throw new AppError(
      ErrorCode.TRANSITION_NOT_ALLOWED,
      `delivery agreement: the delivery clock is not running (state ${ticket.state}, priority ${ticket.priority})`,
    );
  }
  const standard = deliveryDue(ticket.clocks.deliveryStartMs!, cal);
  if (dueMs < standard) {
    throw new AppError(
      ErrorCode.PAYLOAD_INVALID,
      `dueAt: expected a date at or after the standard delivery due ${new Date(standard).toISOString()}, got ${new Date(dueMs).toISOString()}`,
    );
  }
  return { ...ticket.clocks, deliveryDueMs: dueMs };
}

const RUNNING_IN: Readonly<Record<SlaClockName, readonly TicketState[]>> = {
  reaction: ['open'],
  update: ['acknowledged', 'verifying'],
  delivery: ['accepted', 'replacement_shipped'],
  return: ['replacement_delivered'],
};

function startAndDue(clocks: SlaClocks, clock: SlaClockName): [number | null, number | null] {
  switch (clock) {
    case 'reaction':
      return [clocks.clockStartMs, clocks.reactionDueMs];
    case 'update':
      return [clocks.updateStartMs, clocks.updateDueMs];
    case 'delivery':
      return [clocks.deliveryStartMs, clocks.deliveryDueMs];
    case 'return':
      return [clocks.returnStartMs, clocks.returnDueMs];
  }
}

export function isClockRunning(ticket: ClockedTicket, clock: SlaClockName): boolean {
  if (ticket.coverage === 'none' || !RUNNING_IN[clock].includes(ticket.state)) return false;
  const [start, due] = startAndDue(ticket.clocks, clock);
  return start !== null && due !== null;
}

/** The clocks running now, with their budgets, for the SLA monitor and the "next due" sort. */
export function runningClocks(ticket: ClockedTicket): RunningClock[] {
  const out: RunningClock[] = [];
  for (const clock of ['reaction', 'update', 'delivery', 'return'] as const) {
    if (!isClockRunning(ticket, clock)) continue;
    const [startMs, dueMs] = startAndDue(ticket.clocks, clock) as [number, number];
    out.push({ clock, startMs, dueMs, measure: clockMeasure(clock, ticket.priority) });
  }
  return out;
}

/** The earliest due of the running clocks, or null. */
export function nextDueMs(ticket: ClockedTicket): number | null {
  let min: number | null = null;
  for (const c of runningClocks(ticket)) if (min === null || c.dueMs < min) min = c.dueMs;
  return min;
}
