/** The ticket lifecycle state machine and what each step does to the SLA clocks (sla-rules.md "Ticket lifecycle"). */
import { describe, expect, it } from 'vitest';
import { BusinessCalendar } from '../../hub/calendar/business-calendar.ts';
import { BusinessCalendarConfig } from '../../hub/config.ts';
import {
  ALLOWED_TRANSITIONS,
  applyContact,
  applyDeliveryAgreement,
  applyEscalation,
  applyTransition,
  type ClockedTicket,
  initialClocks,
  nextDueMs,
  runningClocks,
  TICKET_STATES,
} from '../../hub/tickets/lifecycle.ts';
import type { TicketState } from '../../hub/types.ts';
import { isAppError } from '../../protocols/errors.ts';

const cal = new BusinessCalendar(BusinessCalendarConfig.parse({}));
const ms = (iso: string) => Date.parse(iso);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

const ALLOWED: [TicketState, TicketState][] = [
  ['open', 'acknowledged'],
  ['acknowledged', 'verifying'],
  ['acknowledged', 'closed'],
  ['verifying', 'accepted'],
  ['verifying', 'rejected'],
  ['verifying', 'closed'],
  ['accepted', 'replacement_shipped'],
  ['replacement_shipped', 'replacement_delivered'],
  ['replacement_delivered', 'faulty_returned'],
  ['faulty_returned', 'closed'],
];

function ticket(state: TicketState, priority: 'P1' | 'P2' | 'P3' = 'P1'): ClockedTicket {
  return {
    state,
    priority,
    coverage: 'active',
    clocks: initialClocks(priority, 'active', ms('2025-01-13T09:00:00Z'), cal),
  };
}

describe('ticket lifecycle', () => {
  it('allows exactly the transitions of the rules', () => {
    const table: [TicketState, TicketState][] = [];
    for (const from of TICKET_STATES) for (const to of ALLOWED_TRANSITIONS[from]) table.push([from, to]);
    expect(table.sort()).toEqual([...ALLOWED].sort());
  });

  it.each(ALLOWED)('allows %s -> %s', (from, to) => {
    expect(applyTransition(ticket(from), to, ms('2025-01-13T10:00:00Z'), cal).state).toBe(to);
  });

  const disallowed: [TicketState, TicketState][] = [];
  for (const from of TICKET_STATES) {
    for (const to of TICKET_STATES) if (!ALLOWED_TRANSITIONS[from].includes(to)) disallowed.push([from, to]);
  }

  it.each(disallowed)('refuses %s -> %s naming from, to and the allowed ones', (from, to) => {
    let caught: unknown;
    try {
      applyTransition(ticket(from), to, 0, cal);
    } catch (err) {
      caught = err;
    }
    expect(isAppError(caught, 'TRANSITION_NOT_ALLOWED')).toBe(true);
    const message = (caught as Error).message;
    expect(message).toContain(`${from} -> ${to}`);
    for (const allowed of ALLOWED_TRANSITIONS[from]) expect(message).toContain(allowed);
  });

  it('runs each clock in its states (P1): reaction, update, delivery, return', () => {
    let t = ticket('open', 'P1');
    expect(runningClocks(t).map((c) => c.clock)).toEqual(['reaction']);
    // acknowledged at 09:20Z: reaction stops, update due 10:20Z (P1 +1 h, SLA-7).
    t = { ...t, ...applyTransition(t, 'acknowledged', ms('2025-01-13T09:20:00Z'), cal) };
    expect(runningClocks(t).map((c) => c.clock)).toEqual(['update']);
    expect(iso(t.clocks.updateDueMs)).toBe('2025-01-13T10:20:00.000Z');
    // a contact at 10:00Z restarts it: 11:00Z.
    t = { ...t, clocks: applyContact(t, ms('2025-01-13T10:00:00Z'), cal) };
    expect(iso(t.clocks.updateDueMs)).toBe('2025-01-13T11:00:00.000Z');
    t = { ...t, ...applyTransition(t, 'verifying', ms('2025-01-13T10:30:00Z'), cal) };
    expect(runningClocks(t).map((c) => c.clock)).toEqual(['update']);
    // accepted Mon 13 Jan: delivery due Tue 14 Jan 16:00+01 = 15:00Z (SLA-12); the update clock stops.
    t = { ...t, ...applyTransition(t, 'accepted', ms('2025-01-13T11:00:00Z'), cal) };
    expect(runningClocks(t).map((c) => c.clock)).toEqual(['delivery']);
    expect(iso(nextDueMs(t))).toBe('2025-01-14T15:00:00.000Z');
    // a later date agreed with the customer replaces it.
    t = { ...t, clocks: applyDeliveryAgreement(t, ms('2025-01-17T15:00:00Z'), cal) };
    expect(iso(t.clocks.deliveryDueMs)).toBe('2025-01-17T15:00:00.000Z');
    t = { ...t, ...applyTransition(t, 'replacement_shipped', ms('2025-01-14T08:00:00Z'), cal) };
    expect(runningClocks(t).map((c) => c.clock)).toEqual(['delivery']);
    // delivered Wed 15 Jan 12:00Z: return due 22 Jan 12:00Z (SLA-14).
    t = { ...t, ...applyTransition(t, 'replacement_delivered', ms('2025-01-15T12:00:00Z'), cal) };
    expect(runningClocks(t).map((c) => c.clock)).toEqual(['return']);
    expect(iso(t.clocks.returnDueMs)).toBe('2025-01-22T12:00:00.000Z');
    t = { ...t, ...applyTransition(t, 'faulty_returned', ms('2025-01-20T12:00:00Z'), cal) };
    expect(runningClocks(t)).toEqual([]);
    t = { ...t, ...applyTransition(t, 'closed', ms('2025-01-20T13:00:00Z'), cal) };
    expect(nextDueMs(t)).toBeNull();
  });

  it('starts no delivery clock for P3 (SLA-13) and no clocks without coverage (SLA-2)', () => {
    const p3 = applyTransition(ticket('verifying', 'P3'), 'accepted', ms('2025-01-13T11:00:00Z'), cal);
    expect(p3.clocks.deliveryDueMs).toBeNull();
    const none: ClockedTicket = {
      state: 'open',
      priority: 'P1',
      coverage: 'none',
      clocks: initialClocks('P1', 'none', 0, cal),
    };
    expect(runningClocks(none)).toEqual([]);
    expect(runningClocks({ ...none, ...applyTransition(none, 'acknowledged', 1, cal) })).toEqual([]);
  });

  it('refuses a delivery date earlier than the standard one', () => {
    const t = { ...ticket('verifying', 'P2') };
    const accepted = { ...t, ...applyTransition(t, 'accepted', ms('2025-01-13T11:00:00Z'), cal) };
    expect(() => applyDeliveryAgreement(accepted, ms('2025-01-14T10:00:00Z'), cal)).toThrow(/dueAt/);
    expect(() => applyDeliveryAgreement(ticket('open'), ms('2025-02-14T10:00:00Z'), cal)).toThrow(/not running/);
  });

  it('recomputes the reaction clock from the escalation time with P1 rules', () => {
    // P2 sent Sat 18 Jan: reaction would start Mon 08:00. Escalated Sat 18 Jan 22:00Z -> P1 due 23:00Z.
    const p2: ClockedTicket = {
      state: 'open',
      priority: 'P2',
      coverage: 'active',
      clocks: initialClocks('P2', 'active', ms('2025-01-18T10:00:00Z'), cal),
    };
    expect(iso(p2.clocks.reactionDueMs)).toBe('2025-01-20T08:00:00.000Z');
    const clocks = applyEscalation(p2, ms('2025-01-18T22:00:00Z'), cal);
    expect(iso(clocks.clockStartMs)).toBe('2025-01-18T22:00:00.000Z');
    expect(iso(clocks.reactionDueMs)).toBe('2025-01-18T23:00:00.000Z');
  });
});
