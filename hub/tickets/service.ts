/**
 * The tickets service: every ticket read and mutation for the API and the other hub modules. The rules live beside
 * it (manual-open.ts: manual tickets; auto-open.ts: the automatic-ticket policy; lifecycle.ts: transitions and SLA
 * clocks); this file orders the writes and announces them. Each change is committed in one transaction (store.ts),
 * then the SLA monitor re-arms the ticket's clocks, then the bus hears `ticket` {ticket, change}. Changes of one
 * ticket (or one device's automatic ticket) run one after another in the order they were asked (keyed-queue.ts), so a
 * caller that does not await still sees store-then-announce in its own order.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { BusinessCalendar } from '../calendar/business-calendar.ts';
import type {
  AttachmentInput,
  AutoTicketInput,
  DeviceRegistry,
  TicketService as TicketServiceApi,
} from '../context.ts';
import type { HubEventMap } from '../events.ts';
import type { DeviceTransition, TicketHistoryEntry, TicketState, TicketView } from '../types.ts';
import {
  MONITOR_ACTOR,
  openAutoTicket,
  recordDeviceStateOnTicket,
  type TicketWriterDeps,
  type WriteFence,
} from './auto-open.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { applyContact, applyDeliveryAgreement, applyTransition, nextDueMs } from './lifecycle.ts';
import { type ManualTicketInput, openManualTicket } from './manual-open.ts';
import type { HistoryInput, TicketRow, TicketStore, TicketUpdate } from './store.ts';
import { TicketOwners } from './ticket-owners.ts';
import { toHistoryEntry, toTicketView } from './views.ts';

export { AUTO_KEY, MONITOR_ACTOR } from './auto-open.ts';
export type { ManualTicketInput } from './manual-open.ts';

export type TicketChange = HubEventMap['ticket'][0]['change'];
export type TicketWithHistory = TicketView & { history: TicketHistoryEntry[]; linkedTo?: string };

export const DEFAULT_LIST_LIMIT = 1000;

export interface TicketServiceDeps {
  store: TicketStore;
  clock: Clock;
  logger: Logger;
  calendarFor: (customer: string | null) => BusinessCalendar;
  registry: () => DeviceRegistry | undefined;
  emit: (ticket: TicketView, change: TicketChange) => void;
  /** Called after every committed change, before the bus hears it (the SLA monitor re-arms). */
  onCommitted?: (row: TicketRow) => Promise<void> | void;
}

export class TicketsService implements TicketServiceApi {
  private readonly deps: TicketServiceDeps;
  private readonly writer: TicketWriterDeps;
  private readonly queue = new KeyedQueue();
  /** Ticket id -> customer, synchronously (scope checks): filled by `start`, this node's inserts and `learn`. */
  readonly owners = new TicketOwners();

  constructor(deps: TicketServiceDeps) {
    this.deps = deps;
    this.writer = deps;
  }

  /** Load the owner index (every ticket's customer not known yet), in chunks: memory stays bounded. */
  async start(): Promise<void> {
    const chunk = 50_000;
    for (let after = this.owners.lastSeq; ; ) {
      const rows = await this.deps.store.owners(after, chunk);
      for (const { seq, customer } of rows) this.owners.set(seq, customer);
      if (rows.length < chunk) return;
      after = rows.at(-1)?.seq ?? after;
    }
  }

  /** Settles when every change asked so far is stored and announced. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  // --- reads ---

  async list(filter: { state: 'open' | 'closed' | 'all' }, limit = DEFAULT_LIST_LIMIT): Promise<TicketView[]> {
    const { store } = this.deps;
    let rows: TicketRow[];
    if (filter.state === 'open') rows = await store.listOpen(limit);
    else if (filter.state === 'closed') rows = await store.listClosed(limit);
    else {
      rows = await store.listOpen(limit);
      if (rows.length < limit) rows = rows.concat(await store.listClosed(limit - rows.length));
    }
    const attachments = await store.attachmentsFor(rows.map((r) => r.seq));
    return rows.map((r) => toTicketView(r, attachments.get(r.seq) ?? []));
  }

  async get(id: string): Promise<TicketWithHistory | undefined> {
    const row = await this.deps.store.getById(id);
    return row === undefined ? undefined : this.withHistory(row);
  }

  /** The ticket's customer (null: none; undefined: no such ticket known here), without waiting for the database. */
  ownerOf(id: string): string | null | undefined {
    return this.owners.ownerOf(id);
  }

  async attachment(ticketId: string, name: string): Promise<AttachmentInput | undefined> {
    const row = await this.require(ticketId);
    const a = await this.deps.store.attachment(row.seq, name);
    if (a === undefined) return undefined;
    return {
      name: a.name,
      size: a.size,
      sha256: a.sha256,
      kind: a.kind,
      capturedAt: a.capturedAt ?? null,
      storedPath: a.storedPath,
    };
  }

  // --- opening tickets ---

  createManual(input: ManualTicketInput, actor?: string): Promise<TicketWithHistory> {
    return this.queue.run(`serial:${input.serial}`, async () => {
      const { row, isLinked } = await openManualTicket(this.writer, input, actor);
      await this.committed(row, isLinked ? 'note' : 'opened');
      const ticket = await this.withHistory(row);
      return isLinked ? { ...ticket, linkedTo: row.id } : ticket;
    });
  }

  /**
   * Open the device's automatic ticket, or escalate/annotate the open one (never a second one, also across hub
   * nodes). `fence`: the write runs inside it (`withFence` of the partition's holder, issue 16) and the bus hears
   * it only after that transaction committed; a stale epoch rejects (StaleEpochError) with nothing written or said.
   */
  openAuto(
    input: AutoTicketInput,
    fence?: WriteFence,
  ): Promise<{ ticket: TicketView; change: 'opened' | 'escalated' | 'note' }> {
    return this.queue.run(`serial:${input.serial}`, async () => {
      const { row, change } = await openAutoTicket(this.writer, input, fence);
      await this.committed(row, change);
      return { ticket: await this.view(row), change };
    });
  }

  /** A device state change that opens nothing but belongs on the open automatic ticket (recovery, agent offline). */
  recordDeviceState(t: DeviceTransition): Promise<TicketView | undefined> {
    return this.queue.run(`serial:${t.serial}`, async () => {
      const done = await recordDeviceStateOnTicket(this.writer, t);
      if (done === undefined) return undefined;
      await this.committed(done.row, done.change);
      return this.view(done.row);
    });
  }

  // --- engineer actions ---

  transition(id: string, to: TicketState, actor: string, note: string): Promise<TicketWithHistory> {
    return this.change(id, 'transition', (row, now, at) => this.transitionOf(row, to, actor, note, now, at), true);
  }

  /**
   * A contact with the reporter (SLA-7): restarts the update clock. On an `open` ticket the first contact is
   * the reaction itself, so it acknowledges the ticket (DECISION).
   */
  addContact(id: string, actor: string, note: string): Promise<TicketWithHistory> {
    let change: TicketChange = 'note';
    return this.change(
      id,
      () => change,
      (row, now, at) => {
        if (row.state === 'open') {
          change = 'transition';
          return this.transitionOf(row, 'acknowledged', actor, note, now, at);
        }
        const clocks = applyContact(row, now, this.deps.calendarFor(row.customer));
        return {
          patch: { clocks, nextDueMs: nextDueMs({ ...row, clocks }) },
          history: [{ at, kind: 'contact', from: row.state, to: row.state, actor, note }],
          contact: { at, actor, note },
        };
      },
      true,
    );
  }

  /** A later delivery date agreed with the customer replaces the delivery due (SLA-12). */
  agreeDelivery(id: string, dueMs: number, actor: string, note: string): Promise<TicketWithHistory> {
    return this.change(
      id,
      'note',
      (row, _now, at) => {
        const clocks = applyDeliveryAgreement(row, dueMs, this.deps.calendarFor(row.customer));
        const text = `delivery agreed with the customer by ${new Date(dueMs).toISOString()}${note === '' ? '' : `: ${note}`}`;
        return {
          patch: { clocks, nextDueMs: nextDueMs({ ...row, clocks }) },
          history: [{ at, kind: 'delivery-agreement', from: row.state, to: row.state, actor, note: text }],
        };
      },
      true,
    );
  }

  /** `internal-note`: staff only (customers never see it, hub/people/access-control.ts). */
  addNote(ticketId: string, actor: string, note: string, kind: 'note' | 'internal-note' = 'note'): Promise<TicketView> {
    return this.change(ticketId, 'note', (row, _now, at) => ({
      patch: {},
      history: [{ at, kind, from: row.state, to: row.state, actor, note }],
    }));
  }

  setSummary(ticketId: string, text: string): Promise<TicketView> {
    return this.change(ticketId, 'note', () => ({ patch: { summary: text }, history: [] }));
  }

  addAttachment(ticketId: string, meta: AttachmentInput): Promise<TicketView> {
    return this.queue.run(ticketId, async () => {
      const row = await this.require(ticketId);
      if ((await this.deps.store.attachment(row.seq, meta.name)) !== undefined) {
        throw new AppError(
          ErrorCode.PAYLOAD_INVALID,
          `name: ticket ${ticketId} already has an attachment "${meta.name}"`,
        );
      }
      const at = new Date(this.deps.clock.now()).toISOString();
      const updated = await this.deps.store.updateTicket(
        row.seq,
        (current) => ({
          patch: {},
          history: [
            {
              at,
              kind: 'attachment',
              from: current.state,
              to: current.state,
              actor: MONITOR_ACTOR,
              note: `attached ${meta.name} (${meta.kind}, ${meta.size} bytes, sha256 ${meta.sha256})`,
            },
          ],
          attachment: meta,
        }),
        at,
      );
      await this.committed(updated, 'attachment');
      return this.view(updated);
    });
  }

  // --- internals ---

  async view(row: TicketRow): Promise<TicketView> {
    return toTicketView(row, await this.deps.store.attachments(row.seq));
  }

  /** A ticket changed by another hub node: learn its owner (the caller reloads views and re-arms clocks). */
  learn(row: TicketRow): void {
    this.owners.set(row.seq, row.customer);
  }

  private async withHistory(row: TicketRow): Promise<TicketWithHistory> {
    const [view, history] = await Promise.all([this.view(row), this.deps.store.history(row.seq)]);
    return { ...view, history: history.map(toHistoryEntry) };
  }

  private async require(id: string): Promise<TicketRow> {
    const row = await this.deps.store.getById(id);
    if (row === undefined) throw new AppError(ErrorCode.NOT_FOUND, `ticket "${id}" not found`);
    return row;
  }

  private transitionOf(row: TicketRow, to: TicketState, actor: string, note: string, now: number, at: string) {
    const next = applyTransition(row, to, now, this.deps.calendarFor(row.customer));
    this.deps.logger.info({ ticket: row.id, from: row.state, to, actor }, 'ticket transition');
    return {
      patch: {
        state: next.state,
        clocks: next.clocks,
        nextDueMs: nextDueMs({ ...row, state: next.state, clocks: next.clocks }),
      },
      history: [{ at, kind: 'transition' as const, from: row.state, to: next.state, actor, note }],
      // acknowledged = the engineer contacted the reporter (SLA-6): it is a contact too.
      ...(to === 'acknowledged' ? { contact: { at, actor, note } } : {}),
    };
  }

  /** One update of an existing ticket, in its queue: decide from the locked row, store, re-arm, announce. */
  private change(
    id: string,
    change: TicketChange | (() => TicketChange),
    decide: (row: TicketRow, nowMs: number, at: string) => TicketUpdate,
  ): Promise<TicketView>;
  private change(
    id: string,
    change: TicketChange | (() => TicketChange),
    decide: (row: TicketRow, nowMs: number, at: string) => TicketUpdate,
    withHistory: true,
  ): Promise<TicketWithHistory>;
  private change(
    id: string,
    change: TicketChange | (() => TicketChange),
    decide: (row: TicketRow, nowMs: number, at: string) => TicketUpdate,
    withHistory = false,
  ): Promise<TicketView | TicketWithHistory> {
    return this.queue.run(id, async () => {
      const row = await this.require(id);
      const now = this.deps.clock.now();
      const at = new Date(now).toISOString();
      const updated = await this.deps.store.updateTicket(row.seq, (current) => decide(current, now, at), at);
      await this.committed(updated, typeof change === 'function' ? change() : change);
      return withHistory ? this.withHistory(updated) : this.view(updated);
    });
  }

  private async committed(row: TicketRow, change: TicketChange): Promise<void> {
    this.owners.set(row.seq, row.customer);
    try {
      await this.deps.onCommitted?.(row);
    } catch (err) {
      this.deps.logger.error({ err, ticket: row.id }, 'SLA monitor failed to re-arm a ticket');
    }
    this.deps.emit(await this.view(row), change);
  }
}

/** History rows as the store takes them (re-exported for tests). */
export type { HistoryInput };
