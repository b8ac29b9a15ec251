/** The tickets module's schema (migrations, SQLite and PostgreSQL) and the raw row shapes read back from it. */
import type { MigrationStep } from '../store/migrations.ts';
import type { Channel, Priority, SlaClockName, TicketState } from '../types.ts';
import type { StoredAttachment, TicketRow } from './store.ts';

/**
 * ONE migration list for SQLite and PostgreSQL (issue 16). Versions 1..13 are what hub/db.ts `migrate()` applied in
 * earlier hubs (an existing SQLite file is accepted as is). PostgreSQL: BIGINT for milliseconds and seqs (they come
 * back as strings: fromRaw converts), identity columns where SQLite has a rowid. `tickets.seq` is assigned by the
 * store (MAX + 1 under a lock), so the ticket id can be written with it.
 */
const MS_COLUMNS = (type: string) => `clock_start_ms ${type}, reaction_due_ms ${type},
     update_start_ms ${type}, update_due_ms ${type},
     delivery_start_ms ${type}, delivery_due_ms ${type},
     return_start_ms ${type}, return_due_ms ${type},
     next_due_ms ${type},`;

const ticketsTable = (seq: string, ms: string) => `CREATE TABLE tickets (
     seq ${seq},
     id TEXT NOT NULL UNIQUE,
     serial TEXT NOT NULL,
     model TEXT, site TEXT, customer TEXT,
     priority TEXT NOT NULL,
     channel TEXT NOT NULL,
     state TEXT NOT NULL,
     is_open INTEGER NOT NULL,
     contract TEXT,
     coverage TEXT NOT NULL,
     opened_at TEXT NOT NULL,
     title TEXT NOT NULL,
     summary TEXT,
     reporter TEXT,
     description TEXT,
     auto_key TEXT,
     ${MS_COLUMNS(ms)}
     breached TEXT NOT NULL DEFAULT '',
     warned TEXT NOT NULL DEFAULT '',
     updated_at TEXT NOT NULL)`;

/** A child table's own id: SQLite's rowid, a PostgreSQL identity. */
const ROW_ID = {
  sqlite: 'id INTEGER PRIMARY KEY',
  postgres: 'id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
} as const;
const TICKET_REF = {
  sqlite: 'ticket_seq INTEGER NOT NULL REFERENCES tickets (seq)',
  postgres: 'ticket_seq BIGINT NOT NULL REFERENCES tickets (seq)',
} as const;
const both = (make: (d: 'sqlite' | 'postgres') => string): MigrationStep => ({
  sqlite: make('sqlite'),
  postgres: make('postgres'),
});

export const TICKET_MIGRATIONS: readonly MigrationStep[] = [
  { sqlite: ticketsTable('INTEGER PRIMARY KEY', 'INTEGER'), postgres: ticketsTable('BIGINT PRIMARY KEY', 'BIGINT') },
  // GET /api/tickets?state=open: open tickets sorted by next due, without scanning closed ones.
  'CREATE INDEX tickets_open_next_due ON tickets (is_open, next_due_ms, seq)',
  // At most one open automatic ticket per device and problem, enforced by the database (also across hub nodes).
  `CREATE UNIQUE INDEX tickets_one_open_auto ON tickets (serial, auto_key)
     WHERE is_open = 1 AND auto_key IS NOT NULL`,
  'CREATE INDEX tickets_serial ON tickets (serial, seq)',
  both(
    (d) => `CREATE TABLE ticket_history (
     ${ROW_ID[d]},
     ${TICKET_REF[d]},
     at TEXT NOT NULL,
     kind TEXT NOT NULL,
     from_state TEXT,
     to_state TEXT NOT NULL,
     actor TEXT NOT NULL,
     note TEXT NOT NULL)`,
  ),
  'CREATE INDEX ticket_history_ticket ON ticket_history (ticket_seq, id)',
  both(
    (d) => `CREATE TABLE ticket_contacts (
     ${ROW_ID[d]},
     ${TICKET_REF[d]},
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     note TEXT NOT NULL)`,
  ),
  'CREATE INDEX ticket_contacts_ticket ON ticket_contacts (ticket_seq, id)',
  // One row per (ticket, clock, level, due): two hub nodes never record (and announce) the same event twice.
  both(
    (d) => `CREATE TABLE sla_events (
     ${ROW_ID[d]},
     ${TICKET_REF[d]},
     clock TEXT NOT NULL,
     level TEXT NOT NULL,
     due_ms ${d === 'sqlite' ? 'INTEGER' : 'BIGINT'} NOT NULL,
     at TEXT NOT NULL,
     UNIQUE (ticket_seq, clock, level, due_ms))`,
  ),
  both(
    (d) => `CREATE TABLE ticket_attachments (
     ${ROW_ID[d]},
     ${TICKET_REF[d]},
     name TEXT NOT NULL,
     size ${d === 'sqlite' ? 'INTEGER' : 'BIGINT'} NOT NULL,
     sha256 TEXT NOT NULL,
     kind TEXT NOT NULL,
     captured_at TEXT,
     stored_path TEXT NOT NULL,
     added_at TEXT NOT NULL,
     UNIQUE (ticket_seq, name))`,
  ),
  both(
    (d) => `CREATE TABLE site_alerts (
     ${ROW_ID[d]},
     site TEXT NOT NULL,
     agent_id TEXT NOT NULL,
     status TEXT NOT NULL,
     at TEXT NOT NULL,
     reason TEXT NOT NULL,
     serials TEXT NOT NULL)`,
  ),
  'CREATE INDEX site_alerts_site ON site_alerts (site, agent_id, id)',
  // A customer's page of its own tickets (the portal, scoped tokens) without scanning every other customer's.
  'CREATE INDEX tickets_customer_open ON tickets (customer, is_open, seq)',
];

/** PostgreSQL returns BIGINT as a string; SQLite a number. */
type Big = number | string;
export const num = (v: Big): number => Number(v);
const numOrNull = (v: Big | null): number | null => (v === null ? null : Number(v));

export interface RawTicket extends Record<string, unknown> {
  seq: Big;
  id: string;
  serial: string;
  model: string | null;
  site: string | null;
  customer: string | null;
  priority: string;
  channel: string;
  state: string;
  contract: string | null;
  coverage: string;
  opened_at: string;
  title: string;
  summary: string | null;
  reporter: string | null;
  description: string | null;
  auto_key: string | null;
  clock_start_ms: Big | null;
  reaction_due_ms: Big | null;
  update_start_ms: Big | null;
  update_due_ms: Big | null;
  delivery_start_ms: Big | null;
  delivery_due_ms: Big | null;
  return_start_ms: Big | null;
  return_due_ms: Big | null;
  next_due_ms: Big | null;
  breached: string;
  warned: string;
}

function splitList(value: string): SlaClockName[] {
  return value === '' ? [] : (value.split(',') as SlaClockName[]);
}

export function fromRaw(r: RawTicket): TicketRow {
  return {
    seq: num(r.seq),
    id: r.id,
    serial: r.serial,
    model: r.model,
    site: r.site,
    customer: r.customer,
    priority: r.priority as Priority,
    channel: r.channel as Channel,
    state: r.state as TicketState,
    contract: r.contract,
    coverage: r.coverage as 'active' | 'none',
    openedAt: r.opened_at,
    title: r.title,
    summary: r.summary,
    reporter: r.reporter,
    description: r.description,
    autoKey: r.auto_key,
    clocks: {
      clockStartMs: numOrNull(r.clock_start_ms),
      reactionDueMs: numOrNull(r.reaction_due_ms),
      updateStartMs: numOrNull(r.update_start_ms),
      updateDueMs: numOrNull(r.update_due_ms),
      deliveryStartMs: numOrNull(r.delivery_start_ms),
      deliveryDueMs: numOrNull(r.delivery_due_ms),
      returnStartMs: numOrNull(r.return_start_ms),
      returnDueMs: numOrNull(r.return_due_ms),
    },
    nextDueMs: numOrNull(r.next_due_ms),
    breached: splitList(r.breached),
    warned: splitList(r.warned),
  };
}

export interface RawAttachment extends Record<string, unknown> {
  name: string;
  size: Big;
  sha256: string;
  kind: string;
  captured_at: string | null;
  stored_path: string;
  added_at: string;
}

export function fromRawAttachment(r: RawAttachment): StoredAttachment {
  return {
    name: r.name,
    size: num(r.size),
    sha256: r.sha256,
    kind: r.kind,
    capturedAt: r.captured_at,
    storedPath: r.stored_path,
    addedAt: r.added_at,
  };
}
