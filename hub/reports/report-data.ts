/**
 * Reads what the monthly SLA report needs from the hub's SQLite (tickets, their contacts and state changes, device
 * state history) and the registry (contracts, rooms). Read-only; the computation is sla-report.ts.
 */
import type { DeviceRegistry } from '../context.ts';
import type { Db } from '../db.ts';
import type { DeviceState, Priority, SlaClockName, TicketState } from '../types.ts';
import type { ReportContract, ReportDevice, ReportInput, ReportTicket } from './sla-report.ts';

interface TicketDbRow {
  seq: number;
  id: string;
  serial: string;
  priority: Priority;
  channel: string;
  state: TicketState;
  contract: string | null;
  coverage: 'active' | 'none';
  opened_at: string;
  clock_start_ms: number | null;
  reaction_due_ms: number | null;
  breached: string | null;
}

export function loadReportInput(
  db: Db,
  registry: DeviceRegistry,
  q: { customer: string; customerName: string; month: string; fromMs: number; toMs: number; nowMs: number },
): ReportInput {
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
  const rows = db
    .prepare(
      `SELECT seq, id, serial, priority, channel, state, contract, coverage, opened_at, clock_start_ms,
              reaction_due_ms, breached
         FROM tickets WHERE customer = ? AND opened_at >= ? AND opened_at < ? ORDER BY seq`,
    )
    .all(q.customer, from, to) as TicketDbRow[];
  const contactsOf = db.prepare('SELECT at FROM ticket_contacts WHERE ticket_seq = ? ORDER BY id');
  const transitionsOf = db.prepare(
    "SELECT at, to_state FROM ticket_history WHERE ticket_seq = ? AND kind = 'transition' ORDER BY id",
  );
  const tickets: ReportTicket[] = rows.map((r) => ({
    id: r.id,
    serial: r.serial,
    priority: r.priority,
    channel: r.channel,
    state: r.state,
    contract: r.contract,
    coverage: r.coverage,
    openedAt: r.opened_at,
    clockStartMs: r.clock_start_ms,
    reactionDueMs: r.reaction_due_ms,
    breached: (r.breached ?? '').split(',').filter((b) => b !== '') as SlaClockName[],
    contacts: (contactsOf.all(r.seq) as { at: string }[]).map((c) => c.at),
    transitions: (transitionsOf.all(r.seq) as { at: string; to_state: TicketState }[]).map((t) => ({
      at: t.at,
      to: t.to_state,
    })),
  }));

  // Each device's state changes in the month, plus the last one before it (the state the month starts in).
  const transitions = new Map<string, { at: string; to: DeviceState }[]>();
  const before = db.prepare(
    'SELECT at, to_state FROM device_transitions WHERE serial = ? AND at < ? ORDER BY at DESC, id DESC LIMIT 1',
  );
  const during = db.prepare(
    'SELECT at, to_state FROM device_transitions WHERE serial = ? AND at >= ? AND at < ? ORDER BY at, id',
  );
  const serials = new Set([...devices.map((d) => d.serial), ...contracts.flatMap((c) => c.serials)]);
  for (const serial of serials) {
    const list = [
      ...(before.all(serial, from) as { at: string; to_state: DeviceState }[]),
      ...(during.all(serial, from, to) as { at: string; to_state: DeviceState }[]),
    ].map((t) => ({ at: t.at, to: t.to_state }));
    transitions.set(serial, list);
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
