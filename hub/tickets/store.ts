/**
 * The ticket store in SQLite: tickets, their full history, SLA clock events, attachments metadata, the
 * contacts/updates log and site alerts. Rows are only ever inserted or updated, never deleted.
 * Every write that belongs together runs in one transaction; callers announce on the bus only afterwards.
 */
import { type Db, migrate } from '../db.ts';
import type { AttachmentMeta, Priority, SiteAlert, SlaClockName, TicketState, TicketView } from '../types.ts';
import type { SlaClocks } from './lifecycle.ts';
import { fromRaw, fromRawAttachment, type RawAttachment, type RawTicket, TICKET_MIGRATIONS } from './store-schema.ts';

/** A ticket as stored: the API view's own fields plus what only the store and the clocks need. */
export interface TicketRow
  extends Pick<
    TicketView,
    | 'id'
    | 'serial'
    | 'model'
    | 'site'
    | 'customer'
    | 'priority'
    | 'channel'
    | 'state'
    | 'contract'
    | 'coverage'
    | 'openedAt'
    | 'title'
  > {
  seq: number;
  summary: string | null;
  reporter: string | null;
  description: string | null;
  autoKey: string | null;
  clocks: SlaClocks;
  nextDueMs: number | null;
  breached: SlaClockName[];
  warned: SlaClockName[];
}

export type NewTicket = Omit<TicketRow, 'seq' | 'id' | 'breached' | 'warned'>;

export type HistoryKind =
  | 'opened'
  | 'transition'
  | 'note'
  /** A staff-only note (POST /api/tickets/:id/notes, visibility internal). */
  | 'internal-note'
  | 'contact'
  | 'escalated'
  | 'device-state'
  | 'recovered'
  | 'delivery-agreement'
  | 'summary'
  | 'attachment';

export interface HistoryInput {
  at: string;
  kind: HistoryKind;
  from: TicketState | null;
  to: TicketState;
  actor: string;
  note: string;
}

export interface StoredAttachment extends AttachmentMeta {
  storedPath: string;
  addedAt: string;
}

export interface StoredSiteAlert extends SiteAlert {
  id: number;
}

export function formatTicketId(seq: number): string {
  return `HZ-${String(seq).padStart(6, '0')}`;
}

function isOpenState(state: TicketState): number {
  return state === 'closed' || state === 'rejected' ? 0 : 1;
}

/** Mutable columns of a ticket. */
export interface TicketPatch {
  priority?: Priority;
  state?: TicketState;
  summary?: string | null;
  title?: string;
  clocks?: SlaClocks;
  nextDueMs?: number | null;
}

export class TicketStore {
  private readonly db: Db;
  private readonly stmts;

  constructor(db: Db) {
    this.db = db;
    migrate(db, 'tickets', TICKET_MIGRATIONS);
    this.stmts = {
      maxSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM tickets'),
      insert:
        db.prepare(`INSERT INTO tickets (seq, id, serial, model, site, customer, priority, channel, state, is_open,
          contract, coverage, opened_at, title, summary, reporter, description, auto_key,
          clock_start_ms, reaction_due_ms, update_start_ms, update_due_ms, delivery_start_ms, delivery_due_ms,
          return_start_ms, return_due_ms, next_due_ms, updated_at)
        VALUES (@seq, @id, @serial, @model, @site, @customer, @priority, @channel, @state, @is_open,
          @contract, @coverage, @opened_at, @title, @summary, @reporter, @description, @auto_key,
          @clock_start_ms, @reaction_due_ms, @update_start_ms, @update_due_ms, @delivery_start_ms, @delivery_due_ms,
          @return_start_ms, @return_due_ms, @next_due_ms, @updated_at)`),
      update: db.prepare(`UPDATE tickets SET priority = @priority, state = @state, is_open = @is_open,
          summary = @summary, title = @title,
          clock_start_ms = @clock_start_ms, reaction_due_ms = @reaction_due_ms,
          update_start_ms = @update_start_ms, update_due_ms = @update_due_ms,
          delivery_start_ms = @delivery_start_ms, delivery_due_ms = @delivery_due_ms,
          return_start_ms = @return_start_ms, return_due_ms = @return_due_ms,
          next_due_ms = @next_due_ms, updated_at = @updated_at
        WHERE seq = @seq`),
      history: db.prepare(`INSERT INTO ticket_history (ticket_seq, at, kind, from_state, to_state, actor, note)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      contact: db.prepare('INSERT INTO ticket_contacts (ticket_seq, at, actor, note) VALUES (?, ?, ?, ?)'),
      byId: db.prepare('SELECT * FROM tickets WHERE id = ?'),
      bySeq: db.prepare('SELECT * FROM tickets WHERE seq = ?'),
      openAuto: db.prepare('SELECT * FROM tickets WHERE serial = ? AND auto_key = ? AND is_open = 1'),
      listOpen: db.prepare(
        'SELECT * FROM tickets WHERE is_open = 1 ORDER BY next_due_ms IS NULL, next_due_ms, seq LIMIT ?',
      ),
      listClosed: db.prepare('SELECT * FROM tickets WHERE is_open = 0 ORDER BY seq DESC LIMIT ?'),
      running: db.prepare('SELECT * FROM tickets WHERE is_open = 1 AND next_due_ms IS NOT NULL'),
      historyOf: db.prepare(
        'SELECT at, kind, from_state, to_state, actor, note FROM ticket_history WHERE ticket_seq = ? ORDER BY id',
      ),
      contactsOf: db.prepare('SELECT at, actor, note FROM ticket_contacts WHERE ticket_seq = ? ORDER BY id'),
      slaEvent: db.prepare(`INSERT OR IGNORE INTO sla_events (ticket_seq, clock, level, due_ms, at)
        VALUES (?, ?, ?, ?, ?)`),
      slaEventsOf: db.prepare('SELECT clock, level, due_ms, at FROM sla_events WHERE ticket_seq = ? ORDER BY id'),
      setMarks: db.prepare('UPDATE tickets SET breached = ?, warned = ? WHERE seq = ?'),
      attachment: db.prepare(`INSERT INTO ticket_attachments
          (ticket_seq, name, size, sha256, kind, captured_at, stored_path, added_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      attachmentsOf: db.prepare(`SELECT name, size, sha256, kind, captured_at, stored_path, added_at
        FROM ticket_attachments WHERE ticket_seq = ? ORDER BY id`),
      attachmentsIn: db.prepare(`SELECT ticket_seq, name, size, sha256, kind, captured_at, stored_path, added_at
        FROM ticket_attachments WHERE ticket_seq IN (SELECT value FROM json_each(?)) ORDER BY id`),
      attachmentByName: db.prepare(`SELECT name, size, sha256, kind, captured_at, stored_path, added_at
        FROM ticket_attachments WHERE ticket_seq = ? AND name = ?`),
      openCounts: db.prepare('SELECT priority, COUNT(*) AS n FROM tickets WHERE is_open = 1 GROUP BY priority'),
      siteAlert: db.prepare(`INSERT INTO site_alerts (site, agent_id, status, at, reason, serials)
        VALUES (?, ?, ?, ?, ?, ?)`),
      siteAlerts: db.prepare('SELECT * FROM site_alerts ORDER BY id DESC LIMIT ?'),
    };
  }

  /** Run `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Insert a ticket and its first history row in one transaction; returns the stored row. */
  insertTicket(ticket: NewTicket, first: Omit<HistoryInput, 'from' | 'to' | 'kind'>, updatedAt: string): TicketRow {
    return this.transaction(() => {
      const seq = (this.stmts.maxSeq.get() as { seq: number }).seq + 1;
      const id = formatTicketId(seq);
      const c = ticket.clocks;
      this.stmts.insert.run({
        seq,
        id,
        serial: ticket.serial,
        model: ticket.model,
        site: ticket.site,
        customer: ticket.customer,
        priority: ticket.priority,
        channel: ticket.channel,
        state: ticket.state,
        is_open: isOpenState(ticket.state),
        contract: ticket.contract,
        coverage: ticket.coverage,
        opened_at: ticket.openedAt,
        title: ticket.title,
        summary: ticket.summary,
        reporter: ticket.reporter,
        description: ticket.description,
        auto_key: ticket.autoKey,
        clock_start_ms: c.clockStartMs,
        reaction_due_ms: c.reactionDueMs,
        update_start_ms: c.updateStartMs,
        update_due_ms: c.updateDueMs,
        delivery_start_ms: c.deliveryStartMs,
        delivery_due_ms: c.deliveryDueMs,
        return_start_ms: c.returnStartMs,
        return_due_ms: c.returnDueMs,
        next_due_ms: ticket.nextDueMs,
        updated_at: updatedAt,
      });
      this.stmts.history.run(seq, first.at, 'opened', null, ticket.state, first.actor, first.note);
      return this.getBySeq(seq)!;
    });
  }

  /** Apply a patch and append history (and a contact) in one transaction; returns the stored row. */
  updateTicket(
    seq: number,
    patch: TicketPatch,
    history: readonly HistoryInput[],
    updatedAt: string,
    contact?: { at: string; actor: string; note: string },
  ): TicketRow {
    return this.transaction(() => {
      const current = this.getBySeq(seq);
      if (current === undefined) throw new Error(`ticket seq ${seq} vanished`);
      const state = patch.state ?? current.state;
      const c = patch.clocks ?? current.clocks;
      this.stmts.update.run({
        seq,
        priority: patch.priority ?? current.priority,
        state,
        is_open: isOpenState(state),
        summary: patch.summary === undefined ? current.summary : patch.summary,
        title: patch.title ?? current.title,
        clock_start_ms: c.clockStartMs,
        reaction_due_ms: c.reactionDueMs,
        update_start_ms: c.updateStartMs,
        update_due_ms: c.updateDueMs,
        delivery_start_ms: c.deliveryStartMs,
        delivery_due_ms: c.deliveryDueMs,
        return_start_ms: c.returnStartMs,
        return_due_ms: c.returnDueMs,
        next_due_ms: patch.nextDueMs === undefined ? current.nextDueMs : patch.nextDueMs,
        updated_at: updatedAt,
      });
      for (const h of history) this.stmts.history.run(seq, h.at, h.kind, h.from, h.to, h.actor, h.note);
      if (contact !== undefined) this.stmts.contact.run(seq, contact.at, contact.actor, contact.note);
      return this.getBySeq(seq)!;
    });
  }

  getById(id: string): TicketRow | undefined {
    const raw = this.stmts.byId.get(id) as RawTicket | undefined;
    return raw === undefined ? undefined : fromRaw(raw);
  }

  getBySeq(seq: number): TicketRow | undefined {
    const raw = this.stmts.bySeq.get(seq) as RawTicket | undefined;
    return raw === undefined ? undefined : fromRaw(raw);
  }

  findOpenAuto(serial: string, autoKey: string): TicketRow | undefined {
    const raw = this.stmts.openAuto.get(serial, autoKey) as RawTicket | undefined;
    return raw === undefined ? undefined : fromRaw(raw);
  }

  /** Open tickets, soonest due first (tickets without a running clock last). */
  listOpen(limit: number): TicketRow[] {
    return (this.stmts.listOpen.all(limit) as RawTicket[]).map(fromRaw);
  }

  /** Closed and rejected tickets, newest first. */
  listClosed(limit: number): TicketRow[] {
    return (this.stmts.listClosed.all(limit) as RawTicket[]).map(fromRaw);
  }

  /** Open tickets with at least one running clock (what the SLA monitor arms after a restart). */
  listRunning(): TicketRow[] {
    return (this.stmts.running.all() as RawTicket[]).map(fromRaw);
  }

  history(seq: number): (HistoryInput & { kind: HistoryKind })[] {
    const rows = this.stmts.historyOf.all(seq) as {
      at: string;
      kind: HistoryKind;
      from_state: TicketState | null;
      to_state: TicketState;
      actor: string;
      note: string;
    }[];
    return rows.map((r) => ({
      at: r.at,
      kind: r.kind,
      from: r.from_state,
      to: r.to_state,
      actor: r.actor,
      note: r.note,
    }));
  }

  contacts(seq: number): { at: string; actor: string; note: string }[] {
    return this.stmts.contactsOf.all(seq) as { at: string; actor: string; note: string }[];
  }

  /**
   * Record an SLA event once (unique per ticket, clock, level and due); marks the ticket's breached/warned list.
   * Returns false when it was already recorded (e.g. before a restart).
   */
  recordSlaEvent(seq: number, clock: SlaClockName, level: 'warning' | 'breach', dueMs: number, at: string): boolean {
    return this.transaction(() => {
      const inserted = this.stmts.slaEvent.run(seq, clock, level, dueMs, at).changes === 1;
      if (!inserted) return false;
      const row = this.getBySeq(seq)!;
      const breached = new Set(row.breached);
      const warned = new Set(row.warned);
      (level === 'breach' ? breached : warned).add(clock);
      this.stmts.setMarks.run([...breached].join(','), [...warned].join(','), seq);
      return true;
    });
  }

  slaEvents(seq: number): { clock: SlaClockName; level: 'warning' | 'breach'; dueMs: number; at: string }[] {
    const rows = this.stmts.slaEventsOf.all(seq) as {
      clock: SlaClockName;
      level: 'warning' | 'breach';
      due_ms: number;
      at: string;
    }[];
    return rows.map((r) => ({ clock: r.clock, level: r.level, dueMs: r.due_ms, at: r.at }));
  }

  insertAttachment(seq: number, meta: AttachmentMeta & { storedPath: string }, addedAt: string): void {
    this.stmts.attachment.run(
      seq,
      meta.name,
      meta.size,
      meta.sha256,
      meta.kind,
      meta.capturedAt ?? null,
      meta.storedPath,
      addedAt,
    );
  }

  attachments(seq: number): StoredAttachment[] {
    return (this.stmts.attachmentsOf.all(seq) as RawAttachment[]).map(fromRawAttachment);
  }

  /** Attachments of many tickets in one query (list views). */
  attachmentsFor(seqs: readonly number[]): Map<number, StoredAttachment[]> {
    const out = new Map<number, StoredAttachment[]>();
    if (seqs.length === 0) return out;
    for (const raw of this.stmts.attachmentsIn.all(JSON.stringify(seqs)) as (RawAttachment & {
      ticket_seq: number;
    })[]) {
      const list = out.get(raw.ticket_seq) ?? [];
      list.push(fromRawAttachment(raw));
      out.set(raw.ticket_seq, list);
    }
    return out;
  }

  attachment(seq: number, name: string): StoredAttachment | undefined {
    const raw = this.stmts.attachmentByName.get(seq, name) as RawAttachment | undefined;
    return raw === undefined ? undefined : fromRawAttachment(raw);
  }

  openCountsByPriority(): Record<Priority, number> {
    const out: Record<Priority, number> = { P1: 0, P2: 0, P3: 0 };
    for (const r of this.stmts.openCounts.all() as { priority: Priority; n: number }[]) out[r.priority] = r.n;
    return out;
  }

  insertSiteAlert(alert: SiteAlert): void {
    this.stmts.siteAlert.run(
      alert.site,
      alert.agentId,
      alert.status,
      alert.at,
      alert.reason,
      JSON.stringify(alert.serials),
    );
  }

  siteAlerts(limit: number): StoredSiteAlert[] {
    const rows = this.stmts.siteAlerts.all(limit) as {
      id: number;
      site: string;
      agent_id: string;
      status: 'raised' | 'cleared';
      at: string;
      reason: string;
      serials: string;
    }[];
    return rows.map((r) => ({
      id: r.id,
      site: r.site,
      agentId: r.agent_id,
      status: r.status,
      at: r.at,
      reason: r.reason,
      serials: JSON.parse(r.serials) as string[],
    }));
  }
}
