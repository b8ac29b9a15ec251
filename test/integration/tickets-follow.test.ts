/**
 * How a node follows other nodes' ticket writes (hub/tickets/remote-changes.ts), driven through the change feed's
 * subscriber API with a real SQLite store: a changed key reloads that ticket (pages dropped, clocks re-armed, views
 * told through `ticket-elsewhere`, never `ticket`); a full reload after the feed was away also tells the views about
 * tickets closed meanwhile, so a wall drops them; an unknown key changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HubEventMap } from '../../hub/events.ts';
import type { ChangeFeed, ChangeHandler } from '../../hub/store/change-feed.ts';
import { makeTicketsHarness, type TicketsHarness } from '../helpers/tickets-harness.ts';

let h: TicketsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A feed whose "other node" is the test: it calls the tickets module's subscriber itself. */
function testFeed() {
  const handlers = new Map<string, ChangeHandler>();
  const feed: ChangeFeed = {
    notify: () => Promise.resolve(),
    subscribe(store, onChange) {
      handlers.set(store, onChange);
      return () => handlers.delete(store);
    },
    start: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { feed, changed: (key: string | undefined) => handlers.get('tickets')?.(key) };
}

const manual = {
  channel: 'phone' as const,
  serial: '8L2X50-0001',
  contract: 'C-100',
  priority: 'P1' as const,
  reporter: 'Anna Nowak',
  description: 'no picture',
};

describe("following other nodes' ticket writes", () => {
  it('reloads a changed ticket, and after a full reload tells the views about tickets closed meanwhile', async () => {
    const other = testFeed();
    h = await makeTicketsHarness({ start: '2025-01-13T09:00:00Z', changeFeed: () => other.feed });
    const service = h.module.service;
    const first = await service.createManual(manual);
    const second = await service.createManual({ ...manual, serial: '8L2X70-0004' });
    const seen: HubEventMap['ticket-elsewhere'][0][] = [];
    h.bus.on('ticket-elsewhere', (e) => seen.push(e));
    const own = h.tickets.length;

    await other.changed(first.id);
    await h.settle();
    expect(seen.map((e) => e.ticket.id)).toEqual([first.id]);
    await other.changed('HZ-999999'); // not (or no longer) there: nothing
    await h.settle();
    expect(seen).toHaveLength(1);

    // "another node" closes the second ticket while this node's feed is away, then the feed comes back
    await h.ctx.sql.run("UPDATE tickets SET state = 'closed', is_open = 0, next_due_ms = NULL WHERE id = $1", [
      second.id,
    ]);
    expect(h.module.monitor.armed().has(2)).toBe(true);
    seen.length = 0;
    await other.changed(undefined);
    await h.settle();
    expect(seen.map((e) => [e.ticket.id, e.ticket.state]).sort()).toEqual([
      [first.id, 'open'],
      [second.id, 'closed'],
    ]);
    expect(h.module.monitor.armed().has(2)).toBe(false); // its timers are gone too
    expect(h.tickets).toHaveLength(own); // never this node's own `ticket` event (no duty runs for it)
  });
});
