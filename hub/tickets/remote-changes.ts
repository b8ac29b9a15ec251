/**
 * Tickets written by OTHER hub nodes (issue 16, change feed store 'tickets', key = ticket id): this node learns the
 * ticket's owner, re-arms its SLA clocks from the stored row (every node arms the same timers), drops its cached list
 * pages and tells its views (bus `ticket-elsewhere`: websocket stream, desk), never its duties (no notification, no
 * evidence request: the node that wrote it did those). After the feed was away (key undefined): the open tickets and
 * the newest closed ones (a ticket closed elsewhere meanwhile leaves this node's wall).
 */
import type { HubBus } from '../events.ts';
import type { ChangeFeed } from '../store/change-feed.ts';
import type { SerialQueue } from '../store/serial-queue.ts';
import { DEFAULT_LIST_LIMIT, type TicketsService } from './service.ts';
import { TICKETS_FEED, type TicketRow, type TicketStore } from './store.ts';
import { toTicketView } from './views.ts';

export function followOtherNodesTickets(deps: {
  feed: ChangeFeed;
  store: TicketStore;
  service: TicketsService;
  bus: HubBus;
  queue: SerialQueue;
  invalidatePages: () => void;
  track: (row: TicketRow) => Promise<void>;
}): () => void {
  const { store, service, bus } = deps;
  const changed = async (row: TicketRow) => {
    service.learn(row);
    await deps.track(row);
    bus.emit('ticket-elsewhere', { ticket: await service.view(row) });
  };
  const reloadAll = async () => {
    await service.start(); // owners of tickets opened meanwhile
    const rows = [...(await store.listOpen(DEFAULT_LIST_LIMIT)), ...(await store.listClosed(DEFAULT_LIST_LIMIT))];
    const attachments = await store.attachmentsFor(rows.map((r) => r.seq));
    for (const row of rows) {
      service.learn(row);
      await deps.track(row);
      bus.emit('ticket-elsewhere', { ticket: toTicketView(row, attachments.get(row.seq) ?? []) });
    }
  };
  return deps.feed.subscribe(TICKETS_FEED, (key) =>
    deps.queue.push(async () => {
      deps.invalidatePages();
      if (key !== undefined) {
        const row = await store.getById(key);
        if (row !== undefined) await changed(row);
        return;
      }
      await reloadAll();
    }),
  );
}
