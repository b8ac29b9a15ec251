/** Stored ticket rows -> the API/bus shape (interfaces.md `GET /api/tickets`). */
import type { AttachmentMeta, TicketHistoryEntry, TicketView } from '../types.ts';
import { runningClocks } from './lifecycle.ts';
import type { HistoryInput, StoredAttachment, TicketRow } from './store.ts';

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toAttachmentMeta(a: StoredAttachment): AttachmentMeta {
  return { name: a.name, size: a.size, sha256: a.sha256, kind: a.kind, capturedAt: a.capturedAt ?? null };
}

export function toTicketView(row: TicketRow, attachments: readonly StoredAttachment[]): TicketView {
  const c = row.clocks;
  const view: TicketView = {
    id: row.id,
    serial: row.serial,
    model: row.model,
    site: row.site,
    customer: row.customer,
    priority: row.priority,
    channel: row.channel,
    state: row.state,
    contract: row.contract,
    coverage: row.coverage,
    openedAt: row.openedAt,
    title: row.title,
    sla: {
      clockStart: isoOrNull(c.clockStartMs),
      reactionDue: isoOrNull(c.reactionDueMs),
      nextUpdateDue: isoOrNull(c.updateDueMs),
      deliveryDue: isoOrNull(c.deliveryDueMs),
      returnDue: isoOrNull(c.returnDueMs),
      breached: row.breached,
      warned: row.warned,
      running: runningClocks(row).map((r) => r.clock),
      nextDue: isoOrNull(row.nextDueMs),
    },
    attachments: attachments.map(toAttachmentMeta),
  };
  if (row.summary !== null) view.summary = row.summary;
  if (row.reporter !== null) view.reporter = row.reporter;
  if (row.description !== null) view.description = row.description;
  return view;
}

export function toHistoryEntry(h: HistoryInput): TicketHistoryEntry {
  return { at: h.at, from: h.from, to: h.to, actor: h.actor, note: h.note, kind: h.kind };
}
