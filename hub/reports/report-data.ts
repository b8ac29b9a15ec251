/**
 * Reads what the monthly SLA report needs from the store (tickets, their contacts and state changes: the tickets
 * tables; device state history: the outage tables, `transitionsSql`, which may still be the local SQLite file) and
 * the registry (contracts, rooms). Read-only, async (issue 16: SQLite or PostgreSQL); the computation is
 * sla-report.ts.
 */
import type { DeviceRegistry } from '../context.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { num } from '../tickets/store-schema.ts';
import type { DeviceState, Priority, SlaClockName, TicketState } from '../types.ts';
import type { ReportContract, ReportDevice, ReportInput, ReportTicket } from './sla-report.ts';

interface TicketDbRow extends Record<string, unknown> {
  /** BIGINT: a string on PostgreSQL. */
  seq: number | string;
  id: string;
  serial: string;
  priority: Priority;
  channel: string;
  state: TicketState;
  contract: string | null;
  coverage: 'active' | 'none';
  opened_at: string;
  clock_start_ms: number | string | null;
  reaction_due_ms: number | string | null;
  breached: string | null;
}

const numOrNull = (v: number | string | null): number | null => (v === null ? null : num(v));

export async function loadReportInput(
  sql: { tickets: SqlStore; transitions: SqlStore },
  registry: DeviceRegistry,
  q: { customer: string; customerName: string; month: string; fromMs: number; toMs: number; nowMs: number },
): Promise<ReportInput> {
  const contracts: ReportContract[] = (registry.listContracts?.(q.nowMs) ?? [])
    .filter((c) => c.customer === q.customer)
    .map((c) => ({ number: c.number, start: c.start, end: c.end, serials: c.serials }));
  const devices: ReportDevice[] = registry
    .list()
    .filter((d) => d.customer === q.customer)
    .map((d) => ({ serial: d.serial, name: d.name, model: d.model, site: d.site }));

  // opened_at is an ISO instant (UTC, 'Z'): string order is time order.
  const from = new Date(q.fromMs).toISOString();
  const to = new Date(q.toMs).toISOString();
  const rows = await sql.tickets.query<TicketDbRow>(
    `SELECT seq, id, serial, priority, channel, state, contract, coverage, opened_at, clock_start_ms,
            reaction_due_ms, breached
       FROM tickets WHERE customer = $1 AND opened_at >= $2 AND opened_at < $3 ORDER BY seq`,
    [q.customer, from, to],
  );
  const tickets: ReportTicket[] = [];
  for (const r of rows) {
    const contacts = await sql.tickets.query<{ at: string }>(
      'SELECT at FROM ticket_contacts WHERE ticket_seq = $1 ORDER BY id',
      [r.seq],
    );
    const steps = await sql.tickets.query<{ at: string; to_state: TicketState }>(
      "SELECT at, to_state FROM ticket_history WHERE ticket_seq = $1 AND kind = 'transition' ORDER BY id",
      [r.seq],
    );
    tickets.push({
      id: r.id,
      serial: r.serial,
      priority: r.priority,
      channel: r.channel,
      state: r.state,
      contract: r.contract,
      coverage: r.coverage,
      openedAt: r.opened_at,
      clockStartMs: numOrNull(r.clock_start_ms),
      reactionDueMs: numOrNull(r.reaction_due_ms),
      breached: (r.breached ?? '').split(',').filter((b) => b !== '') as SlaClockName[],
      contacts: contacts.map((c) => c.at),
      transitions: steps.map((t) => ({ at: t.at, to: t.to_state })),
    });
  }

  // Each device's state changes in the month, plus the last one before it (the state the month starts in).
  const transitions = new Map<string, { at: string; to: DeviceState }[]>();
  const serials = new Set([...devices.map((d) => d.serial), ...contracts.flatMap((c) => c.serials)]);
  for (const serial of serials) {
    const before = await sql.transitions.query<{ at: string; to_state: DeviceState }>(
      'SELECT at, to_state FROM device_transitions WHERE serial = $1 AND at < $2 ORDER BY at DESC, id DESC LIMIT 1',
      [serial, from],
    );
    const during = await sql.transitions.query<{ at: string; to_state: DeviceState }>(
      'SELECT at, to_state FROM device_transitions WHERE serial = $1 AND at >= $2 AND at < $3 ORDER BY at, id',
      [serial, from, to],
    );
    transitions.set(
      serial,
      [...before, ...during].map((t) => ({ at: t.at, to: t.to_state })),
    );
  }
  return {
    customer: q.customer,
    customerName: q.customerName,
    month: q.month,
    nowMs: q.nowMs,
    contracts,
    devices,
    tickets,
    transitions,
  };
}
