/**
 * Issue 16: two real hubs with every module on one real PostgreSQL 15 keep their tickets there (tables created
 * once, not in their SQLite files). A ticket one node opens is listed by the other node's API and streamed on the
 * other node's websocket (the NOC wall and the desk follow it without a reload); a transition made through the
 * other node is seen by the first; the same automatic ticket asked of both nodes at once is ONE ticket.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import { TICKET_MIGRATIONS } from '../../hub/tickets/store-schema.ts';
import type { TicketView } from '../../hub/types.ts';
import { startTestHub, TEST_READ_TOKEN, type TestHub } from '../helpers/hub-fixture.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { connectStream } from '../helpers/ws-stream-client.ts';

let postgres: Postgres;
const hubs: TestHub[] = [];
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
  await postgres?.close();
});

const list = async (hub: TestHub) => (await (await hub.api('/api/tickets?state=all')).json()) as TicketView[];
const fault = (serial: string) => ({
  serial,
  state: 'down' as const,
  reason: 'all-channels-failed',
  evidence: ['rest: ECONNREFUSED'],
  site: 'waw-hq',
  customer: 'acme',
});

describe('two hub nodes with their tickets on one PostgreSQL', () => {
  it("share tickets: one node's ticket is listed and streamed by the other, and never opened twice", async () => {
    const [a, b] = (await Promise.all(
      ['hub-a', 'hub-b'].map(async (node) => {
        const hub = await startTestHub({
          modules: 'all',
          config: { node, database: { url: postgres.url }, cluster: { partitions: 4, leaseMs: 2_000, renewMs: 400 } },
        });
        hubs.push(hub);
        return hub;
      }),
    )) as [TestHub, TestHub];

    const pg = new PostgresStore(postgres.url, { max: 1 });
    try {
      const ledger = await pg.query<{ n: string }>(
        "SELECT COUNT(*) AS n FROM schema_migrations WHERE module = 'tickets'",
      );
      expect(Number(ledger[0]?.n)).toBe(TICKET_MIGRATIONS.length); // each step once although both nodes started together
    } finally {
      await pg.close();
    }
    for (const hub of [a, b]) {
      const db = new Database(join(hub.dataDir, 'hezo.sqlite'), { readonly: true });
      const local = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'tickets'").all();
      db.close();
      expect(local).toEqual([]); // not in the node's own SQLite file
    }

    const wsUrl = `${b.urls.httpUrl.replace(/^http/, 'ws')}/ws?token=${TEST_READ_TOKEN}`;
    const wall = await connectStream(wsUrl);
    try {
      await wall.next((m) => m.type === 'snapshot');
      const opened = await a.hub.ctx.services.ticketService!.openAuto(fault('SN-SHARED-1'));
      expect(opened.change).toBe('opened');
      const frame = await wall.next((m) => m.type === 'ticket' && m.data.id === opened.ticket.id);
      expect(frame.data).toMatchObject({ serial: 'SN-SHARED-1', priority: 'P1', state: 'open' });
      expect((await list(b)).map((t) => t.id)).toContain(opened.ticket.id);

      // acknowledged through node B: node A's API and B's own stream show it
      const moved = await b.api(`/api/tickets/${opened.ticket.id}/transitions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: 'acknowledged', note: 'called the room' }),
      });
      expect(moved.status).toBe(200);
      await waitFor(async () => (await list(a)).find((t) => t.id === opened.ticket.id)?.state === 'acknowledged', {
        what: "node A's list shows B's transition",
      });
    } finally {
      await wall.close();
    }

    // the same fault asked of both nodes at once: one ticket, the other node's report a note on it
    const both = await Promise.all([
      a.hub.ctx.services.ticketService!.openAuto(fault('SN-SHARED-2')),
      b.hub.ctx.services.ticketService!.openAuto(fault('SN-SHARED-2')),
    ]);
    expect(both.map((r) => r.change).sort()).toEqual(['note', 'opened']);
    expect(both[0].ticket.id).toBe(both[1].ticket.id);
    expect((await list(a)).filter((t) => t.serial === 'SN-SHARED-2')).toHaveLength(1);
  });
});
