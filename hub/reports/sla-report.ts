/**
 * The monthly SLA report of one customer (issue 15), as pure computation over what the hub stores: per contract,
 * tickets by priority, reaction and update times against their targets (SLA-6, SLA-7; measured like the clocks:
 * P1 in elapsed time, P2/P3 in business time), the recorded breaches, and each room's availability from the device
 * state history. No I/O and no clock of its own: `nowMs` is given (the month in progress ends at `nowMs`).
 *
 * DECISIONS: a ticket belongs to the month it was opened in (customer time zone); availability = time not `down`
 * / time with a known state (`unknown` = agent offline, not counted either way; `degraded` counts as available);
 * a room with no known state in the month has availability null.
 */
import { DateTime } from 'luxon';
import type { BusinessCalendar } from '../calendar/business-calendar.ts';
import { SLA_TARGETS } from '../tickets/sla-clocks.ts';
import type { DeviceState, Priority, SlaClockName, TicketState } from '../types.ts';

export const PRIORITIES: readonly Priority[] = ['P1', 'P2', 'P3'];

export interface ReportTicket {
  id: string;
  serial: string;
  priority: Priority;
  channel: string;
  state: TicketState;
  contract: string | null;
  coverage: 'active' | 'none';
  openedAt: string;
  clockStartMs: number | null;
  reactionDueMs: number | null;
  breached: readonly SlaClockName[];
  /** Contacts with the reporter (the acknowledgement is the first), ISO instants in order. */
  contacts: readonly string[];
  /** State changes in order: {at, to}. */
  transitions: readonly { at: string; to: TicketState }[];
}

export interface ReportDevice {
  serial: string;
  name?: string | undefined;
  model: string;
  site: string;
}

export interface ReportContract {
  number: string;
  start: string;
  end: string;
  serials: readonly string[];
}

export interface ReportInput {
  customer: string;
  customerName: string;
  /** `YYYY-MM` */
  month: string;
  nowMs: number;
  contracts: readonly ReportContract[];
  devices: readonly ReportDevice[];
  tickets: readonly ReportTicket[];
  /** Per serial, state changes in time order; include the last one before the month (the state it starts in). */
  transitions: ReadonlyMap<string, readonly { at: string; to: DeviceState }[]>;
}

export interface PriorityLine {
  priority: Priority;
  tickets: number;
  reactionTargetMin: number;
  reactionMet: number;
  reactionMissed: number;
  reactionPending: number;
  reactionAvgMin: number | null;
  reactionMaxMin: number | null;
  updateTargetMin: number;
  updates: number;
  updatesLate: number;
  breaches: number;
}

export interface TicketLine {
  id: string;
  serial: string;
  room: string;
  priority: Priority;
  channel: string;
  state: TicketState;
  openedAt: string;
  reactionMin: number | null;
  reactionMet: boolean | null;
  updates: number;
  updatesLate: number;
  longestUpdateGapMin: number | null;
  breached: SlaClockName[];
}

export interface RoomLine {
  serial: string;
  room: string;
  site: string;
  measuredMin: number;
  downMin: number;
  unknownMin: number;
  availabilityPct: number | null;
}

export interface ContractReport {
  /** null: tickets without an active contract (coverage none). */
  contract: string | null;
  start: string | null;
  end: string | null;
  priorities: PriorityLine[];
  tickets: TicketLine[];
  breaches: { ticket: string; clock: SlaClockName }[];
  rooms: RoomLine[];
}

export interface SlaReport {
  customer: string;
  customerName: string;
  month: string;
  timeZone: string;
  from: string;
  to: string;
  complete: boolean;
  contracts: ContractReport[];
}

const MIN = 60_000;
const round1 = (n: number) => Math.round(n * 10) / 10;

/** [start, end) of the month in the calendar's time zone, as epoch ms. */
export function monthRange(month: string, timeZone: string): { fromMs: number; toMs: number } {
  const start = DateTime.fromISO(`${month}-01`, { zone: timeZone });
  if (!start.isValid) throw new Error(`month: expected YYYY-MM, got "${month}"`);
  return { fromMs: start.toMillis(), toMs: start.plus({ months: 1 }).toMillis() };
}

function measure(priority: Priority, a: number, b: number, cal: BusinessCalendar): number {
  if (b <= a) return 0;
  return SLA_TARGETS[priority].measure === 'elapsed' ? b - a : cal.businessTimeBetween(a, b);
}

const UPDATE_STATES: readonly TicketState[] = ['acknowledged', 'verifying'];

/** Gaps between updates while the update clock ran: each contact to the next, or to leaving acknowledged/verifying. */
function updateGaps(t: ReportTicket, nowMs: number): { from: number; to: number }[] {
  const gaps: { from: number; to: number }[] = [];
  const contacts = t.contacts.map((c) => Date.parse(c));
  const leftAt = t.transitions.find((x) => !UPDATE_STATES.includes(x.to) && x.to !== 'open');
  const endMs = leftAt === undefined ? nowMs : Date.parse(leftAt.at);
  for (let i = 0; i < contacts.length; i++) {
    const from = contacts[i]!;
    if (from >= endMs) break;
    const next = contacts[i + 1];
    gaps.push({ from, to: next === undefined || next > endMs ? endMs : next });
  }
  return gaps;
}

function ticketLine(t: ReportTicket, room: string, nowMs: number, cal: BusinessCalendar): TicketLine {
  const target = SLA_TARGETS[t.priority];
  const clocked = t.coverage === 'active' && t.clockStartMs !== null;
  const firstContact = t.contacts[0] === undefined ? undefined : Date.parse(t.contacts[0]);
  let reactionMin: number | null = null;
  let reactionMet: boolean | null = null;
  if (clocked && firstContact !== undefined) {
    const ms = measure(t.priority, t.clockStartMs!, firstContact, cal);
    reactionMin = round1(ms / MIN);
    reactionMet = ms <= target.reactionMs && !t.breached.includes('reaction');
  } else if (clocked && (t.breached.includes('reaction') || (t.reactionDueMs !== null && nowMs > t.reactionDueMs))) {
    reactionMet = false;
  }
  const gaps = clocked ? updateGaps(t, nowMs) : [];
  const lengths = gaps.map((g) => measure(t.priority, g.from, g.to, cal));
  return {
    id: t.id,
    serial: t.serial,
    room,
    priority: t.priority,
    channel: t.channel,
    state: t.state,
    openedAt: t.openedAt,
    reactionMin,
    reactionMet,
    updates: Math.max(0, t.contacts.length - 1),
    updatesLate: lengths.filter((l) => l > target.updateMs).length,
    longestUpdateGapMin: lengths.length === 0 ? null : round1(Math.max(...lengths) / MIN),
    breached: [...t.breached],
  };
}

function priorityLines(lines: readonly TicketLine[]): PriorityLine[] {
  return PRIORITIES.map((priority) => {
    const mine = lines.filter((l) => l.priority === priority);
    const reactions = mine.flatMap((l) => (l.reactionMin === null ? [] : [l.reactionMin]));
    return {
      priority,
      tickets: mine.length,
      reactionTargetMin: SLA_TARGETS[priority].reactionMs / MIN,
      reactionMet: mine.filter((l) => l.reactionMet === true).length,
      reactionMissed: mine.filter((l) => l.reactionMet === false).length,
      reactionPending: mine.filter((l) => l.reactionMet === null).length,
      reactionAvgMin: reactions.length === 0 ? null : round1(reactions.reduce((a, b) => a + b, 0) / reactions.length),
      reactionMaxMin: reactions.length === 0 ? null : Math.max(...reactions),
      updateTargetMin: SLA_TARGETS[priority].updateMs / MIN,
      updates: mine.reduce((n, l) => n + l.updates, 0),
      updatesLate: mine.reduce((n, l) => n + l.updatesLate, 0),
      breaches: mine.reduce((n, l) => n + l.breached.length, 0),
    };
  });
}

/** Time down / unknown / measured within [fromMs, toMs) from a device's state changes. */
export function roomAvailability(
  changes: readonly { at: string; to: DeviceState }[],
  fromMs: number,
  toMs: number,
): { measuredMs: number; downMs: number; unknownMs: number } {
  let state: DeviceState | null = null;
  let cursor = fromMs;
  let downMs = 0;
  let unknownMs = 0;
  let knownMs = 0;
  const account = (until: number) => {
    const span = Math.max(0, Math.min(until, toMs) - cursor);
    if (state === null) return;
    if (state === 'unknown') unknownMs += span;
    else {
      knownMs += span;
      if (state === 'down') downMs += span;
    }
  };
  for (const c of changes) {
    const at = Date.parse(c.at);
    if (at >= toMs) break;
    if (at > cursor) {
      account(at);
      cursor = at;
    }
    state = c.to;
  }
  account(toMs);
  return { measuredMs: knownMs, downMs, unknownMs };
}

export function buildSlaReport(input: ReportInput, cal: BusinessCalendar): SlaReport {
  const { fromMs, toMs: monthEndMs } = monthRange(input.month, cal.timeZone);
  const toMs = Math.min(monthEndMs, Math.max(fromMs, input.nowMs));
  const devices = new Map(input.devices.map((d) => [d.serial, d]));
  const roomOf = (serial: string) => devices.get(serial)?.name ?? serial;
  const inMonth = input.tickets.filter((t) => {
    const at = Date.parse(t.openedAt);
    return at >= fromMs && at < monthEndMs;
  });
  const groups: { contract: ReportContract | null; tickets: ReportTicket[] }[] = input.contracts.map((c) => ({
    contract: c,
    tickets: inMonth.filter((t) => t.coverage === 'active' && t.contract === c.number),
  }));
  const known = new Set(input.contracts.map((c) => c.number));
  const uncovered = inMonth.filter((t) => t.coverage !== 'active' || t.contract === null || !known.has(t.contract));
  if (uncovered.length > 0) groups.push({ contract: null, tickets: uncovered });

  const contracts = groups.map(({ contract, tickets }): ContractReport => {
    const lines = tickets
      .map((t) => ticketLine(t, roomOf(t.serial), input.nowMs, cal))
      .sort((a, b) => a.openedAt.localeCompare(b.openedAt) || a.id.localeCompare(b.id));
    const rooms = (contract?.serials ?? []).map((serial): RoomLine => {
      const a = roomAvailability(input.transitions.get(serial) ?? [], fromMs, toMs);
      return {
        serial,
        room: roomOf(serial),
        site: devices.get(serial)?.site ?? '',
        measuredMin: round1(a.measuredMs / MIN),
        downMin: round1(a.downMs / MIN),
        unknownMin: round1(a.unknownMs / MIN),
        availabilityPct:
          a.measuredMs === 0 ? null : Math.round(((a.measuredMs - a.downMs) / a.measuredMs) * 100_000) / 1000,
      };
    });
    return {
      contract: contract?.number ?? null,
      start: contract?.start ?? null,
      end: contract?.end ?? null,
      priorities: priorityLines(lines),
      tickets: lines,
      breaches: lines.flatMap((l) => l.breached.map((clock) => ({ ticket: l.id, clock }))),
      rooms,
    };
  });
  return {
    customer: input.customer,
    customerName: input.customerName,
    month: input.month,
    timeZone: cal.timeZone,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    complete: input.nowMs >= monthEndMs,
    contracts,
  };
}
