/**
 * The tickets service: every ticket mutation (manual and automatic tickets, transitions, contacts, notes,
 * attachments, delivery agreements). Each change is committed to SQLite in one transaction, then the SLA
 * monitor re-arms the ticket's clocks, then the bus hears `ticket` {ticket, change}.
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
import type { Channel, DeviceTransition, Priority, TicketHistoryEntry, TicketState, TicketView } from '../types.ts';
import { humanReason } from './human-reason.ts';
import {
  applyContact,
  applyDeliveryAgreement,
  applyEscalation,
  applyTransition,
  initialClocks,
  nextDueMs,
  type SlaClocks,
} from './lifecycle.ts';
import { linkToOpenAuto } from './manual-link.ts';
import { describeReason } from './reasons.ts';
import type { HistoryInput, TicketRow, TicketStore } from './store.ts';
import { toHistoryEntry, toTicketView } from './views.ts';

export type TicketChange = HubEventMap['ticket'][0]['change'];
export type TicketWithHistory = TicketView & { history: TicketHistoryEntry[]; linkedTo?: string };

/** Automatic tickets about a device's health share one key: at most one open per device (DB-enforced). */
export const AUTO_KEY = 'device-health';
export const MONITOR_ACTOR = 'hezo-monitor';
export const DEFAULT_LIST_LIMIT = 1000;

export interface ManualTicketInput {
  channel: Exclude<Channel, 'auto'>;
  serial: string;
  contract: string;
  priority: Priority;
  reporter: string;
  description: string;
}

export interface TicketServiceDeps {
  store: TicketStore;
  clock: Clock;
  logger: Logger;
  calendarFor: (customer: string | null) => BusinessCalendar;
  registry: () => DeviceRegistry | undefined;
  emit: (ticket: TicketView, change: TicketChange) => void;
  /** Called after every committed change (the SLA monitor re-arms). */
  onCommitted?: (row: TicketRow) => void;
}

export class TicketsService implements TicketServiceApi {
  private readonly deps: TicketServiceDeps;

  constructor(deps: TicketServiceDeps) {
    this.deps = deps;
  }

  // --- reads ---

  list(filter: { state: 'open' | 'closed' | 'all' }, limit = DEFAULT_LIST_LIMIT): TicketView[] {
    const { store } = this.deps;
    let rows: TicketRow[];
    if (filter.state === 'open') rows = store.listOpen(limit);
    else if (filter.state === 'closed') rows = store.listClosed(limit);
    else {
      rows = store.listOpen(limit);
      if (rows.length < limit) rows = rows.concat(store.listClosed(limit - rows.length));
    }
    const attachments = store.attachmentsFor(rows.map((r) => r.seq));
    return rows.map((r) => toTicketView(r, attachments.get(r.seq) ?? []));
  }

  get(id: string): TicketWithHistory | undefined {
    const row = this.deps.store.getById(id);
    return row === undefined ? undefined : this.withHistory(row);
  }

  attachment(ticketId: string, name: string): AttachmentInput | undefined {
    const row = this.require(ticketId);
    const a = this.deps.store.attachment(row.seq, name);
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

  // --- manual tickets (SLA-4, SLA-15, SLA-16) ---

  createManual(input: ManualTicketInput, actor?: string): TicketWithHistory {
    const registry = this.requireRegistry();
    const device = registry.get(input.serial);
    if (device === undefined) {
      throw new AppError(ErrorCode.UNKNOWN_SERIAL, `serial: unknown device serial "${input.serial}"`);
    }
    const contract = registry.contract(input.contract);
    if (contract === undefined) {
      throw new AppError(ErrorCode.CONTRACT_NOT_COVERING, `contract: unknown contract number "${input.contract}"`);
    }
    if (!contract.serials.includes(input.serial)) {
      throw new AppError(
        ErrorCode.CONTRACT_NOT_COVERING,
        `contract: contract "${input.contract}" does not cover serial "${input.serial}"`,
      );
    }
    const now = this.deps.clock.now();
    const cal = this.deps.calendarFor(device.customer);
    const today = cal.localDate(now);
    if (today < contract.start || today > contract.end) {
      throw new AppError(
        ErrorCode.CONTRACT_NOT_COVERING,
        `contract: contract "${input.contract}" is not active on ${today} (covers ${contract.start} to ${contract.end})`,
      );
    }
    // Issue 15: the device's automatic ticket is still open -> record the report there, no duplicate.
    const linked = linkToOpenAuto(this.deps.store, AUTO_KEY, input, new Date(now).toISOString());
    if (linked !== undefined) {
      this.committed(linked, 'note');
      return { ...this.withHistory(linked), linkedTo: linked.id };
    }
    const clocks = initialClocks(input.priority, 'active', now, cal);
    const firstLine = input.description.split('\n')[0]!.slice(0, 100);
    const row = this.deps.store.insertTicket(
      {
        serial: input.serial,
        model: device.model,
        site: device.site,
        customer: device.customer,
        priority: input.priority,
        channel: input.channel,
        state: 'open',
        contract: input.contract,
        coverage: 'active',
        openedAt: new Date(now).toISOString(),
        title: `${device.model} ${input.serial}: ${firstLine}`,
        summary: null,
        reporter: input.reporter,
        description: input.description,
        autoKey: null,
        clocks,
        nextDueMs: nextDueMs({ state: 'open', priority: input.priority, coverage: 'active', clocks }),
      },
      {
        at: new Date(now).toISOString(),
        actor: actor ?? input.reporter,
        note: `${input.priority} ticket by ${input.channel}: ${input.description}`,
      },
      new Date(now).toISOString(),
    );
    this.deps.logger.info({ ticket: row.id, serial: row.serial, priority: row.priority }, 'ticket opened');
    this.committed(row, 'opened');
    return this.withHistory(row);
  }

  // --- automatic tickets ---

  openAuto(input: AutoTicketInput): { ticket: TicketView; change: 'opened' | 'escalated' | 'note' } {
    const autoKey = input.autoKey ?? AUTO_KEY;
    let existing = this.deps.store.findOpenAuto(input.serial, autoKey);
    if (existing === undefined) {
      const opened = this.tryOpenAuto(input);
      if (opened !== undefined) return { ticket: this.view(opened), change: 'opened' };
      // Lost a race with another opener (unique index): update the ticket that won.
      existing = this.deps.store.findOpenAuto(input.serial, autoKey);
      if (existing === undefined)
        throw new AppError(ErrorCode.INTERNAL, `automatic ticket of ${input.serial} vanished`);
    }
    const now = this.deps.clock.now();
    const at = new Date(now).toISOString();
    const priority: Priority = input.state === 'down' ? 'P1' : input.state === 'config' ? 'P3' : 'P2';
    const evidence = input.evidence.length > 0 ? `\n${input.evidence.join('\n')}` : '';
    if (existing.priority === 'P2' && priority === 'P1') {
      const cal = this.deps.calendarFor(existing.customer);
      const clocks = applyEscalation(existing, now, cal);
      const row = this.deps.store.updateTicket(
        existing.seq,
        {
          priority: 'P1',
          clocks,
          title: this.autoTitle(existing.model, existing.serial, input),
          nextDueMs: nextDueMs({ ...existing, priority: 'P1', clocks }),
        },
        [
          {
            at,
            kind: 'escalated',
            from: existing.state,
            to: existing.state,
            actor: MONITOR_ACTOR,
            note: `escalated P2 -> P1: device down (${describeReason(input.reason)})${evidence}`,
          },
        ],
        at,
      );
      this.deps.logger.warn({ ticket: row.id, serial: row.serial }, 'ticket escalated to P1');
      this.committed(row, 'escalated');
      return { ticket: this.view(row), change: 'escalated' };
    }
    const row = this.deps.store.updateTicket(
      existing.seq,
      {},
      [
        {
          at,
          kind: 'device-state',
          from: existing.state,
          to: existing.state,
          actor: MONITOR_ACTOR,
          note: `device ${input.state} again (${describeReason(input.reason)})${evidence}`,
        },
      ],
      at,
    );
    this.committed(row, 'note');
    return { ticket: this.view(row), change: 'note' };
  }

  /** A device state change that opens nothing but belongs on the open automatic ticket (recovery, agent offline). */
  recordDeviceState(t: DeviceTransition): TicketView | undefined {
    const existing = this.deps.store.findOpenAuto(t.serial, AUTO_KEY);
    if (existing === undefined) return undefined;
    const at = new Date(this.deps.clock.now()).toISOString();
    const recovered = t.to === 'up';
    const note = recovered
      ? `device recovered at ${t.at} (${describeReason(t.reason)}); the ticket stays open until an engineer closes it`
      : `device state ${t.to} at ${t.at} (${describeReason(t.reason)})`;
    const row = this.deps.store.updateTicket(
      existing.seq,
      {},
      [
        {
          at,
          kind: recovered ? 'recovered' : 'device-state',
          from: existing.state,
          to: existing.state,
          actor: MONITOR_ACTOR,
          note,
        },
      ],
      at,
    );
    const change: TicketChange = recovered ? 'recovered' : 'note';
    this.committed(row, change);
    return this.view(row);
  }

  // --- engineer actions ---

  transition(id: string, to: TicketState, actor: string, note: string): TicketWithHistory {
    const row = this.require(id);
    const now = this.deps.clock.now();
    const next = applyTransition(row, to, now, this.deps.calendarFor(row.customer));
    const at = new Date(now).toISOString();
    const updated = this.deps.store.updateTicket(
      row.seq,
      {
        state: next.state,
        clocks: next.clocks,
        nextDueMs: nextDueMs({ ...row, state: next.state, clocks: next.clocks }),
      },
      [{ at, kind: 'transition', from: row.state, to: next.state, actor, note }],
      at,
      // acknowledged = the engineer contacted the reporter (SLA-6): it is a contact too.
      to === 'acknowledged' ? { at, actor, note } : undefined,
    );
    this.deps.logger.info({ ticket: id, from: row.state, to, actor }, 'ticket transition');
    this.committed(updated, 'transition');
    return this.withHistory(updated);
  }

  /**
   * A contact with the reporter (SLA-7): restarts the update clock. On an `open` ticket the first contact is
   * the reaction itself, so it acknowledges the ticket (DECISION).
   */
  addContact(id: string, actor: string, note: string): TicketWithHistory {
    const row = this.require(id);
    if (row.state === 'open') return this.transition(id, 'acknowledged', actor, note);
    const now = this.deps.clock.now();
    const at = new Date(now).toISOString();
    const clocks = applyContact(row, now, this.deps.calendarFor(row.customer));
    const updated = this.deps.store.updateTicket(
      row.seq,
      { clocks, nextDueMs: nextDueMs({ ...row, clocks }) },
      [{ at, kind: 'contact', from: row.state, to: row.state, actor, note }],
      at,
      { at, actor, note },
    );
    this.committed(updated, 'note');
    return this.withHistory(updated);
  }

  /** A later delivery date agreed with the customer replaces the delivery due (SLA-12). */
  agreeDelivery(id: string, dueMs: number, actor: string, note: string): TicketWithHistory {
    const row = this.require(id);
    const clocks: SlaClocks = applyDeliveryAgreement(row, dueMs, this.deps.calendarFor(row.customer));
    const at = new Date(this.deps.clock.now()).toISOString();
    const updated = this.deps.store.updateTicket(
      row.seq,
      { clocks, nextDueMs: nextDueMs({ ...row, clocks }) },
      [
        {
          at,
          kind: 'delivery-agreement',
          from: row.state,
          to: row.state,
          actor,
          note: `delivery agreed with the customer by ${new Date(dueMs).toISOString()}${note === '' ? '' : `: ${note}`}`,
        },
      ],
      at,
    );
    this.committed(updated, 'note');
    return this.withHistory(updated);
  }

  /** `internal-note`: staff only (customers never see it, hub/people/access-control.ts). */
  addNote(ticketId: string, actor: string, note: string, kind: 'note' | 'internal-note' = 'note'): TicketView {
    const row = this.require(ticketId);
    const at = new Date(this.deps.clock.now()).toISOString();
    const updated = this.deps.store.updateTicket(
      row.seq,
      {},
      [{ at, kind, from: row.state, to: row.state, actor, note }],
      at,
    );
    this.committed(updated, 'note');
    return this.view(updated);
  }

  setSummary(ticketId: string, text: string): TicketView {
    const row = this.require(ticketId);
    const at = new Date(this.deps.clock.now()).toISOString();
    const updated = this.deps.store.updateTicket(row.seq, { summary: text }, [], at);
    this.committed(updated, 'note');
    return this.view(updated);
  }

  addAttachment(ticketId: string, meta: AttachmentInput): TicketView {
    const row = this.require(ticketId);
    const at = new Date(this.deps.clock.now()).toISOString();
    if (this.deps.store.attachment(row.seq, meta.name) !== undefined) {
      throw new AppError(
        ErrorCode.PAYLOAD_INVALID,
        `name: ticket ${ticketId} already has an attachment "${meta.name}"`,
      );
    }
    const updated = this.deps.store.transaction(() => {
      this.deps.store.insertAttachment(row.seq, meta, at);
      return this.deps.store.updateTicket(
        row.seq,
        {},
        [
          {
            at,
            kind: 'attachment',
            from: row.state,
            to: row.state,
            actor: MONITOR_ACTOR,
            note: `attached ${meta.name} (${meta.kind}, ${meta.size} bytes, sha256 ${meta.sha256})`,
          },
        ],
        at,
      );
    });
    this.committed(updated, 'attachment');
    return this.view(updated);
  }

  // --- internals ---

  view(row: TicketRow): TicketView {
    return toTicketView(row, this.deps.store.attachments(row.seq));
  }

  private withHistory(row: TicketRow): TicketWithHistory {
    return { ...this.view(row), history: this.deps.store.history(row.seq).map(toHistoryEntry) };
  }

  private require(id: string): TicketRow {
    const row = this.deps.store.getById(id);
    if (row === undefined) throw new AppError(ErrorCode.NOT_FOUND, `ticket "${id}" not found`);
    return row;
  }

  private requireRegistry(): DeviceRegistry {
    const registry = this.deps.registry();
    if (registry === undefined) throw new AppError(ErrorCode.INTERNAL, 'device registry is not available');
    return registry;
  }

  private committed(row: TicketRow, change: TicketChange): void {
    try {
      this.deps.onCommitted?.(row);
    } catch (err) {
      this.deps.logger.error({ err, ticket: row.id }, 'SLA monitor failed to re-arm a ticket');
    }
    this.deps.emit(this.view(row), change);
  }

  private autoTitle(model: string | null, serial: string, input: AutoTicketInput): string {
    return `${model ?? 'device'} ${serial} ${input.state}: ${humanReason(input.reason, [], input.evidence)}`;
  }

  /** Insert a new automatic ticket; undefined when another open one won the unique index meanwhile. */
  private tryOpenAuto(input: AutoTicketInput): TicketRow | undefined {
    const now = this.deps.clock.now();
    const at = new Date(now).toISOString();
    const registry = this.deps.registry();
    const device = registry?.get(input.serial);
    const customer = device?.customer ?? input.customer ?? null;
    const contract = registry?.contractFor(input.serial, now);
    // SLA-2: no active contract -> still a ticket, but coverage none and no clocks.
    const coverage = contract?.isActive === true ? 'active' : 'none';
    const priority: Priority = input.state === 'down' ? 'P1' : input.state === 'config' ? 'P3' : 'P2';
    const cal = this.deps.calendarFor(customer);
    const clocks = initialClocks(priority, coverage, now, cal);
    const evidence = input.evidence.length > 0 ? `\n${input.evidence.join('\n')}` : '';
    const detected = input.at === undefined ? '' : ` (detected ${input.at})`;
    const coverageNote =
      coverage === 'none'
        ? contract === undefined
          ? '\nno service contract covers this device: coverage none, no SLA clocks (SLA-2)'
          : `\ncontract ${contract.number} is not active (ended ${contract.end}): coverage none, no SLA clocks (SLA-2)`
        : '';
    let row: TicketRow;
    try {
      row = this.deps.store.insertTicket(
        {
          serial: input.serial,
          model: device?.model ?? null,
          site: device?.site ?? input.site ?? null,
          customer,
          priority,
          channel: 'auto',
          state: 'open',
          contract: contract?.number ?? null,
          coverage,
          openedAt: at,
          title: this.autoTitle(device?.model ?? null, input.serial, input),
          summary: input.evidence.length > 0 ? input.evidence.join('\n') : null,
          reporter: null,
          description: null,
          autoKey: input.autoKey ?? AUTO_KEY,
          clocks,
          nextDueMs: nextDueMs({ state: 'open', priority, coverage, clocks }),
        },
        {
          at,
          actor: MONITOR_ACTOR,
          note: `opened automatically: device ${input.state} (${describeReason(input.reason)})${detected}${evidence}${coverageNote}`,
        },
        at,
      );
    } catch (err) {
      if (err instanceof Error && /UNIQUE constraint failed: tickets\.serial/.test(err.message)) return undefined;
      throw err;
    }
    this.deps.logger.warn({ ticket: row.id, serial: row.serial, priority }, 'automatic ticket opened');
    this.committed(row, 'opened');
    return row;
  }
}

/** History rows as the store takes them (re-exported for tests). */
export type { HistoryInput };
