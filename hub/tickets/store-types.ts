/** The ticket store's row shapes (hub/tickets/store.ts), ids and patches. */
import type { AttachmentMeta, Priority, SiteAlert, SlaClockName, TicketState, TicketView } from '../types.ts';
import type { SlaClocks } from './lifecycle.ts';

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

/** The seq of a ticket id, or undefined when `id` is not one (never sent to the database). */
export function seqOfTicketId(id: string): number | undefined {
  if (!/^HZ-\d{6,15}$/.test(id)) return undefined;
  const seq = Number(id.slice(3));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
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

/** What one update writes, decided from the ticket's current row (read under its lock). */
export interface TicketUpdate {
  patch: TicketPatch;
  history: readonly HistoryInput[];
  contact?: { at: string; actor: string; note: string };
  attachment?: AttachmentMeta & { storedPath: string };
}
