/** The tickets module's SQLite schema (migrations) and the raw row shapes read back from it. */
import type { Channel, Priority, SlaClockName, TicketState } from '../types.ts';
import type { StoredAttachment, TicketRow } from './store.ts';

export const TICKET_MIGRATIONS = [
  `CREATE TABLE tickets (
     seq INTEGER PRIMARY KEY,
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
     clock_start_ms INTEGER, reaction_due_ms INTEGER,
     update_start_ms INTEGER, update_due_ms INTEGER,
     delivery_start_ms INTEGER, delivery_due_ms INTEGER,
     return_start_ms INTEGER, return_due_ms INTEGER,
     next_due_ms INTEGER,
     breached TEXT NOT NULL DEFAULT '',
     warned TEXT NOT NULL DEFAULT '',
     updated_at TEXT NOT NULL)`,
  // GET /api/tickets?state=open: open tickets sorted by next due, without scanning closed ones.
  'CREATE INDEX tickets_open_next_due ON tickets (is_open, next_due_ms, seq)',
  // At most one open automatic ticket per device and problem, enforced by the database (survives restarts).
  `CREATE UNIQUE INDEX tickets_one_open_auto ON tickets (serial, auto_key)
     WHERE is_open = 1 AND auto_key IS NOT NULL`,
  'CREATE INDEX tickets_serial ON tickets (serial, seq)',
  `CREATE TABLE ticket_history (
     id INTEGER PRIMARY KEY,
     ticket_seq INTEGER NOT NULL REFERENCES tickets (seq),
     at TEXT NOT NULL,
     kind TEXT NOT NULL,
     from_state TEXT,
     to_state TEXT NOT NULL,
     actor TEXT NOT NULL,
     note TEXT NOT NULL)`,
  'CREATE INDEX ticket_history_ticket ON ticket_history (ticket_seq, id)',
  `CREATE TABLE ticket_contacts (
     id INTEGER PRIMARY KEY,
     ticket_seq INTEGER NOT NULL REFERENCES tickets (seq),
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     note TEXT NOT NULL)`,
  'CREATE INDEX ticket_contacts_ticket ON ticket_contacts (ticket_seq, id)',
  `CREATE TABLE sla_events (
     id INTEGER PRIMARY KEY,
     ticket_seq INTEGER NOT NULL REFERENCES tickets (seq),
     clock TEXT NOT NULL,
     level TEXT NOT NULL,
     due_ms INTEGER NOT NULL,
     at TEXT NOT NULL,
     UNIQUE (ticket_seq, clock, level, due_ms))`,
  `CREATE TABLE ticket_attachments (
     id INTEGER PRIMARY KEY,
     ticket_seq INTEGER NOT NULL REFERENCES tickets (seq),
     name TEXT NOT NULL,
     size INTEGER NOT NULL,
     sha256 TEXT NOT NULL,
     kind TEXT NOT NULL,
     captured_at TEXT,
     stored_path TEXT NOT NULL,
     added_at TEXT NOT NULL,
     UNIQUE (ticket_seq, name))`,
  `CREATE TABLE site_alerts (
     id INTEGER PRIMARY KEY,
     site TEXT NOT NULL,
     agent_id TEXT NOT NULL,
     status TEXT NOT NULL,
     at TEXT NOT NULL,
     reason TEXT NOT NULL,
     serials TEXT NOT NULL)`,
  'CREATE INDEX site_alerts_site ON site_alerts (site, agent_id, id)',
  // A customer's page of its own tickets (the portal, scoped tokens) without scanning every other customer's.
  'CREATE INDEX tickets_customer_open ON tickets (customer, is_open, seq)',
];

export interface RawTicket {
  seq: number;
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
  clock_start_ms: number | null;
  reaction_due_ms: number | null;
  update_start_ms: number | null;
  update_due_ms: number | null;
  delivery_start_ms: number | null;
  delivery_due_ms: number | null;
  return_start_ms: number | null;
  return_due_ms: number | null;
  next_due_ms: number | null;
  breached: string;
  warned: string;
}

function splitList(value: string): SlaClockName[] {
  return value === '' ? [] : (value.split(',') as SlaClockName[]);
}

export function fromRaw(r: RawTicket): TicketRow {
  return {
    seq: r.seq,
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
      clockStartMs: r.clock_start_ms,
      reactionDueMs: r.reaction_due_ms,
      updateStartMs: r.update_start_ms,
      updateDueMs: r.update_due_ms,
      deliveryStartMs: r.delivery_start_ms,
      deliveryDueMs: r.delivery_due_ms,
      returnStartMs: r.return_start_ms,
      returnDueMs: r.return_due_ms,
    },
    nextDueMs: r.next_due_ms,
    breached: splitList(r.breached),
    warned: splitList(r.warned),
  };
}

export interface RawAttachment {
  name: string;
  size: number;
  sha256: string;
  kind: string;
  captured_at: string | null;
  stored_path: string;
  added_at: string;
}

export function fromRawAttachment(r: RawAttachment): StoredAttachment {
  return {
    name: r.name,
    size: r.size,
    sha256: r.sha256,
    kind: r.kind,
    capturedAt: r.captured_at,
    storedPath: r.stored_path,
    addedAt: r.added_at,
  };
}
