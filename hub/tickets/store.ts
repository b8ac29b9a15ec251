/**
 * The ticket store on the SqlStore (issue 16: the same SQL on the embedded SQLite file and on a shared PostgreSQL):
 * tickets, their full history, SLA clock events, attachments metadata, the contacts/updates log and site alerts.
 * Rows are only ever inserted or updated, never deleted. Every write that belongs together runs in one transaction
 * (the ticket row locked on PostgreSQL, so two hub nodes changing one ticket take turns) and tells the other nodes
 * through the change feed (store 'tickets', key = ticket id) on commit; callers announce on the bus only afterwards.
 * Duplicates are impossible by the database: one open automatic ticket per (serial, autoKey) (a partial unique
 * index: the second opener gets nothing and updates the winner's ticket), one SLA event per (ticket, clock, level,
 * due).
 */
import { type ChangeFeed, NO_CHANGE_FEED } from '../store/change-feed.ts';
import { runMigrations } from '../store/migrations.ts';
import type { SqlStore, SqlValue } from '../store/sql-store.ts';
import type { AttachmentMeta, Priority, SlaClockName, TicketState } from '../types.ts';
import type { SlaClocks } from './lifecycle.ts';
import {
  fromRaw,
  fromRawAttachment,
  num,
  type RawAttachment,
  type RawTicket,
  TICKET_MIGRATIONS,
} from './store-schema.ts';
import {
  formatTicketId,
  type HistoryInput,
  type HistoryKind,
  type NewTicket,
  type StoredAttachment,
  seqOfTicketId,
  type TicketRow,
  type TicketUpdate,
} from './store-types.ts';

export * from './store-types.ts';

/** The SLA clock columns' values, in the order of the clock columns of INSERT and UPDATE (clock_start_ms .. return_due_ms). */
function clockValues(c: SlaClocks): (number | null)[] {
  return [
    c.clockStartMs,
    c.reactionDueMs,
    c.updateStartMs,
    c.updateDueMs,
    c.deliveryStartMs,
    c.deliveryDueMs,
    c.returnStartMs,
    c.returnDueMs,
  ];
}

function isOpenState(state: TicketState): number {
  return state === 'closed' || state === 'rejected' ? 0 : 1;
}

/** The change feed's store name: key = ticket id. */
export const TICKETS_FEED = 'tickets';

const INSERT_COLUMNS = `seq, id, serial, model, site, customer, priority, channel, state, is_open,
  contract, coverage, opened_at, title, summary, reporter, description, auto_key,
  clock_start_ms, reaction_due_ms, update_start_ms, update_due_ms, delivery_start_ms, delivery_due_ms,
  return_start_ms, return_due_ms, next_due_ms, updated_at`;
const INSERT_VALUES = Array.from({ length: 28 }, (_, i) => `$${i + 1}`).join(', ');

/** `ticket_seq IN <this>` for a JSON array of numbers or strings in one parameter. */
export function jsonListSql(dialect: SqlStore['dialect'], param: string, cast = ''): string {
  return dialect === 'postgres'
    ? `(SELECT value${cast} FROM json_array_elements_text(${param}::json))`
    : `(SELECT value FROM json_each(${param}))`;
}

export class TicketStore {
  readonly sql: SqlStore;
  private readonly feed: ChangeFeed;

  constructor(sql: SqlStore, feed: ChangeFeed = NO_CHANGE_FEED) {
    this.sql = sql;
    this.feed = feed;
  }

  async migrate(): Promise<void> {
    await runMigrations(this.sql, 'tickets', TICKET_MIGRATIONS);
  }

  /**
   * Insert a ticket and its first history row in one transaction (inside `tx` when given, e.g. a fenced write);
   * returns the stored row, or undefined when the ticket is automatic and its (serial, autoKey) already has an open
   * one (the database's unique index decided: another caller or hub node opened it first).
   */
  insertTicket(
    ticket: NewTicket,
    first: Omit<HistoryInput, 'from' | 'to' | 'kind'>,
    updatedAt: string,
    tx?: SqlStore,
  ): Promise<TicketRow | undefined> {
    return (tx ?? this.sql).transaction(async (t) => {
      // ticket numbers are MAX + 1: hub nodes take turns (SQLite: BEGIN IMMEDIATE already does)
      if (t.dialect === 'postgres') await t.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['hezo.tickets.seq']);
      const max = await t.query<{ seq: number | string }>('SELECT COALESCE(MAX(seq), 0) AS seq FROM tickets');
      const seq = num(max[0]?.seq ?? 0) + 1;
      const id = formatTicketId(seq);
      const c = ticket.clocks;
      const values: SqlValue[] = [
        seq,
        id,
        ticket.serial,
        ticket.model,
        ticket.site,
        ticket.customer,
        ticket.priority,
        ticket.channel,
        ticket.state,
        isOpenState(ticket.state),
        ticket.contract,
        ticket.coverage,
        ticket.openedAt,
        ticket.title,
        ticket.summary,
        ticket.reporter,
        ticket.description,
        ticket.autoKey,
        ...clockValues(c),
        ticket.nextDueMs,
        updatedAt,
      ];
      const inserted = await t.run(
        `INSERT INTO tickets (${INSERT_COLUMNS}) VALUES (${INSERT_VALUES})
         ON CONFLICT (serial, auto_key) WHERE is_open = 1 AND auto_key IS NOT NULL DO NOTHING`,
        values,
      );
      if (inserted === 0) return undefined;
      await this.addHistory(t, seq, [{ ...first, kind: 'opened', from: null, to: ticket.state }]);
      await this.feed.notify(TICKETS_FEED, id, t);
      return this.getBySeq(seq, t);
    });
  }

  /**
   * Update one ticket in one transaction (inside `tx` when given): `decide` gets the current row (locked on
   * PostgreSQL) and says what to write; it may throw (e.g. a transition the lifecycle refuses), which writes nothing.
   * Returns the stored row.
   */
  updateTicket(
    seq: number,
    decide: (current: TicketRow) => TicketUpdate,
    updatedAt: string,
    tx?: SqlStore,
  ): Promise<TicketRow> {
    return (tx ?? this.sql).transaction(async (t) => {
      const current = await this.getBySeq(seq, t, true);
      if (current === undefined) throw new Error(`ticket seq ${seq} vanished`);
      const { patch, history, contact, attachment } = decide(current);
      const state = patch.state ?? current.state;
      const c = patch.clocks ?? current.clocks;
      await t.run(
        `UPDATE tickets SET priority = $1, state = $2, is_open = $3, summary = $4, title = $5,
          clock_start_ms = $6, reaction_due_ms = $7, update_start_ms = $8, update_due_ms = $9,
          delivery_start_ms = $10, delivery_due_ms = $11, return_start_ms = $12, return_due_ms = $13,
          next_due_ms = $14, updated_at = $15
        WHERE seq = $16`,
        [
          patch.priority ?? current.priority,
          state,
          isOpenState(state),
          patch.summary === undefined ? current.summary : patch.summary,
          patch.title ?? current.title,
          ...clockValues(c),
          patch.nextDueMs === undefined ? current.nextDueMs : patch.nextDueMs,
          updatedAt,
          seq,
        ],
      );
      await this.addHistory(t, seq, history);
      if (contact !== undefined) {
        await t.run('INSERT INTO ticket_contacts (ticket_seq, at, actor, note) VALUES ($1, $2, $3, $4)', [
          seq,
          contact.at,
          contact.actor,
          contact.note,
        ]);
      }
      if (attachment !== undefined) await this.insertAttachment(t, seq, attachment, updatedAt);
      await this.feed.notify(TICKETS_FEED, current.id, t);
      return (await this.getBySeq(seq, t)) as TicketRow;
    });
  }

  private async addHistory(t: SqlStore, seq: number, history: readonly HistoryInput[]): Promise<void> {
    for (const h of history) {
      await t.run(
        `INSERT INTO ticket_history (ticket_seq, at, kind, from_state, to_state, actor, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [seq, h.at, h.kind, h.from, h.to, h.actor, h.note],
      );
    }
  }

  private async insertAttachment(
    t: SqlStore,
    seq: number,
    meta: AttachmentMeta & { storedPath: string },
    addedAt: string,
  ): Promise<void> {
    await t.run(
      `INSERT INTO ticket_attachments (ticket_seq, name, size, sha256, kind, captured_at, stored_path, added_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [seq, meta.name, meta.size, meta.sha256, meta.kind, meta.capturedAt ?? null, meta.storedPath, addedAt],
    );
  }

  async getById(id: string, sql: SqlStore = this.sql): Promise<TicketRow | undefined> {
    const seq = seqOfTicketId(id);
    if (seq === undefined) return undefined;
    const row = await this.getBySeq(seq, sql);
    return row?.id === id ? row : undefined;
  }

  async getBySeq(seq: number, sql: SqlStore = this.sql, forUpdate = false): Promise<TicketRow | undefined> {
    const lock = forUpdate && sql.dialect === 'postgres' ? ' FOR UPDATE' : '';
    const rows = await sql.query<RawTicket>(`SELECT * FROM tickets WHERE seq = $1${lock}`, [seq]);
    return rows[0] === undefined ? undefined : fromRaw(rows[0]);
  }

  async findOpenAuto(serial: string, autoKey: string): Promise<TicketRow | undefined> {
    const rows = await this.sql.query<RawTicket>(
      'SELECT * FROM tickets WHERE serial = $1 AND auto_key = $2 AND is_open = 1',
      [serial, autoKey],
    );
    return rows[0] === undefined ? undefined : fromRaw(rows[0]);
  }

  /** Open tickets, soonest due first (tickets without a running clock last). */
  async listOpen(limit: number): Promise<TicketRow[]> {
    const rows = await this.sql.query<RawTicket>(
      'SELECT * FROM tickets WHERE is_open = 1 ORDER BY next_due_ms IS NULL, next_due_ms, seq LIMIT $1',
      [limit],
    );
    return rows.map(fromRaw);
  }

  /** Closed and rejected tickets, newest first. */
  async listClosed(limit: number): Promise<TicketRow[]> {
    const rows = await this.sql.query<RawTicket>('SELECT * FROM tickets WHERE is_open = 0 ORDER BY seq DESC LIMIT $1', [
      limit,
    ]);
    return rows.map(fromRaw);
  }

  /** Open tickets with at least one running clock (what the SLA monitor arms after a restart), by seq. */
  async listRunning(): Promise<TicketRow[]> {
    const rows = await this.sql.query<RawTicket>(
      'SELECT * FROM tickets WHERE is_open = 1 AND next_due_ms IS NOT NULL ORDER BY seq',
    );
    return rows.map(fromRaw);
  }

  /** The customers of up to `limit` tickets after `afterSeq`, by seq (the owner index: ticket-owners.ts). */
  async owners(afterSeq = 0, limit = 50_000): Promise<{ seq: number; customer: string | null }[]> {
    const rows = await this.sql.query<{ seq: number | string; customer: string | null }>(
      'SELECT seq, customer FROM tickets WHERE seq > $1 ORDER BY seq LIMIT $2',
      [afterSeq, limit],
    );
    return rows.map((r) => ({ seq: num(r.seq), customer: r.customer }));
  }

  async history(seq: number): Promise<HistoryInput[]> {
    const rows = await this.sql.query<{
      at: string;
      kind: HistoryKind;
      from_state: TicketState | null;
      to_state: TicketState;
      actor: string;
      note: string;
    }>('SELECT at, kind, from_state, to_state, actor, note FROM ticket_history WHERE ticket_seq = $1 ORDER BY id', [
      seq,
    ]);
    return rows.map((r) => ({
      at: r.at,
      kind: r.kind,
      from: r.from_state,
      to: r.to_state,
      actor: r.actor,
      note: r.note,
    }));
  }

  contacts(seq: number): Promise<{ at: string; actor: string; note: string }[]> {
    return this.sql.query('SELECT at, actor, note FROM ticket_contacts WHERE ticket_seq = $1 ORDER BY id', [seq]);
  }

  /**
   * Record an SLA event once (unique per ticket, clock, level and due, by the database: also when two hub nodes
   * record it at once); marks the ticket's breached/warned list. Returns false when it was already recorded.
   */
  recordSlaEvent(seq: number, clock: SlaClockName, level: 'warning' | 'breach', dueMs: number, at: string) {
    return this.sql.transaction(async (t) => {
      const inserted = await t.run(
        `INSERT INTO sla_events (ticket_seq, clock, level, due_ms, at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (ticket_seq, clock, level, due_ms) DO NOTHING`,
        [seq, clock, level, dueMs, at],
      );
      if (inserted === 0) return false;
      const row = await this.getBySeq(seq, t, true);
      if (row === undefined) throw new Error(`ticket seq ${seq} vanished`);
      const breached = new Set(row.breached);
      const warned = new Set(row.warned);
      (level === 'breach' ? breached : warned).add(clock);
      await t.run('UPDATE tickets SET breached = $1, warned = $2 WHERE seq = $3', [
        [...breached].join(','),
        [...warned].join(','),
        seq,
      ]);
      await this.feed.notify(TICKETS_FEED, row.id, t);
      return true;
    });
  }

  async slaEvents(
    seq: number,
  ): Promise<{ clock: SlaClockName; level: 'warning' | 'breach'; dueMs: number; at: string }[]> {
    const rows = await this.sql.query<{
      clock: SlaClockName;
      level: 'warning' | 'breach';
      due_ms: number | string;
      at: string;
    }>('SELECT clock, level, due_ms, at FROM sla_events WHERE ticket_seq = $1 ORDER BY id', [seq]);
    return rows.map((r) => ({ clock: r.clock, level: r.level, dueMs: num(r.due_ms), at: r.at }));
  }

  async attachments(seq: number): Promise<StoredAttachment[]> {
    const rows = await this.sql.query<RawAttachment>(
      `SELECT name, size, sha256, kind, captured_at, stored_path, added_at
       FROM ticket_attachments WHERE ticket_seq = $1 ORDER BY id`,
      [seq],
    );
    return rows.map(fromRawAttachment);
  }

  /** Attachments of many tickets in one query (list views). */
  async attachmentsFor(seqs: readonly number[]): Promise<Map<number, StoredAttachment[]>> {
    const out = new Map<number, StoredAttachment[]>();
    if (seqs.length === 0) return out;
    const rows = await this.sql.query<RawAttachment & { ticket_seq: number | string }>(
      `SELECT ticket_seq, name, size, sha256, kind, captured_at, stored_path, added_at
       FROM ticket_attachments WHERE ticket_seq IN ${jsonListSql(this.sql.dialect, '$1', '::bigint')} ORDER BY id`,
      [JSON.stringify(seqs)],
    );
    for (const raw of rows) {
      const seq = num(raw.ticket_seq);
      const list = out.get(seq) ?? [];
      list.push(fromRawAttachment(raw));
      out.set(seq, list);
    }
    return out;
  }

  async attachment(seq: number, name: string, sql: SqlStore = this.sql): Promise<StoredAttachment | undefined> {
    const rows = await sql.query<RawAttachment>(
      `SELECT name, size, sha256, kind, captured_at, stored_path, added_at
       FROM ticket_attachments WHERE ticket_seq = $1 AND name = $2`,
      [seq, name],
    );
    return rows[0] === undefined ? undefined : fromRawAttachment(rows[0]);
  }

  async openCountsByPriority(): Promise<Record<Priority, number>> {
    const out: Record<Priority, number> = { P1: 0, P2: 0, P3: 0 };
    const rows = await this.sql.query<{ priority: Priority; n: number | string }>(
      'SELECT priority, COUNT(*) AS n FROM tickets WHERE is_open = 1 GROUP BY priority',
    );
    for (const r of rows) out[r.priority] = num(r.n);
    return out;
  }
}
