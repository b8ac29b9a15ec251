/**
 * `GET /api/tickets` pages (hub/tickets/list-page.ts): default page 100, keyset cursor in `x-next-cursor` (the body
 * stays a plain array for old clients), pages through the index, the compiled serialiser gives what JSON.stringify
 * gives, and the page cache is dropped on every ticket change.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type SqlValue, toSqlitePositional } from '../../hub/store/sql-store.ts';
import { DEFAULT_PAGE, serializeTickets, TicketPages } from '../../hub/tickets/list-page.ts';
import { TicketStore } from '../../hub/tickets/store.ts';
import { toTicketView } from '../../hub/tickets/views.ts';
import { makeTicketsHarness, type TicketsHarness } from '../helpers/tickets-harness.ts';

let h: TicketsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const START = '2025-01-13T09:00:00Z';
const manual = {
  channel: 'phone',
  serial: '8L2X50-0001',
  contract: 'C-100',
  priority: 'P2',
  reporter: 'Anna Nowak',
  description: 'Camera image freezes during Teams calls',
};

/** 10,000 tickets by set-based SQL: every 20th open (500), a fifth of those without a running clock. */
function fill(harness: TicketsHarness): void {
  harness.db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
    INSERT INTO tickets (seq, id, serial, priority, channel, state, is_open, coverage, opened_at, title, next_due_ms, updated_at)
    SELECT i, printf('HZ-%06d', i), printf('SN-%05d', i % 500), 'P' || (1 + i % 3), 'auto',
      CASE WHEN i % 20 = 0 THEN 'open' ELSE 'closed' END, CASE WHEN i % 20 = 0 THEN 1 ELSE 0 END, 'active',
      '2025-01-13T09:00:00.000Z', 'device down',
      CASE WHEN i % 20 = 0 AND i % 100 <> 0 THEN 1736758800000 + (i * 7919) % 3600000 ELSE NULL END,
      '2025-01-13T09:00:00.000Z'
    FROM n`);
}

async function get(harness: TicketsHarness, url: string) {
  const res = await harness.http.inject({ method: 'GET', url });
  return { status: res.statusCode, headers: res.headers, body: res.json() as any };
}

/** Every page of `state` with `limit`, following x-next-cursor. */
async function walk(harness: TicketsHarness, state: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const url = `/api/tickets?state=${state}&limit=${limit}${cursor !== undefined ? `&cursor=${cursor}` : ''}`;
    const page = await get(harness, url);
    expect(page.status).toBe(200);
    expect(page.body.length).toBeLessThanOrEqual(limit);
    ids.push(...page.body.map((t: { id: string }) => t.id));
    cursor = page.headers['x-next-cursor'] as string | undefined;
    if (cursor === undefined) return ids;
    expect(page.body).toHaveLength(limit);
    expect(page.headers.link).toContain('rel="next"');
  }
  throw new Error('no last page');
}

describe('ticket list pages', () => {
  it('pages through open, closed and all in the store order, default page 100, bad cursor 400', async () => {
    h = await makeTicketsHarness({ start: START });
    fill(h);
    const store = new TicketStore(h.ctx.sql);
    const openRows = await store.listOpen(10_000);
    const open = openRows.map((t) => t.id);
    const closed = (await store.listClosed(10_000)).map((t) => t.id);
    expect(open).toHaveLength(500);
    expect(openRows.filter((t) => t.nextDueMs === null)).toHaveLength(100);

    const first = await get(h, '/api/tickets');
    expect(first.body).toHaveLength(DEFAULT_PAGE);
    expect(first.body.map((t: { id: string }) => t.id)).toEqual(open.slice(0, DEFAULT_PAGE));
    expect(await walk(h, 'open', 37)).toEqual(open);
    expect(await walk(h, 'closed', 1000)).toEqual(closed);
    expect(await walk(h, 'all', 777)).toEqual([...open, ...closed]);
    // Exactly one page: no cursor.
    expect((await get(h, '/api/tickets?limit=500')).headers['x-next-cursor']).toBeUndefined();

    for (const bad of ['nope', Buffer.from('{"p":"c","s":1}').toString('base64url')]) {
      const res = await get(h, `/api/tickets?state=open&cursor=${bad}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toContain('cursor');
    }
  });

  it('a scoped caller pages through its customers only, filtered in the query, in the same order', async () => {
    h = await makeTicketsHarness({ start: START });
    fill(h);
    h.db.exec(`UPDATE tickets SET customer = CASE seq % 3 WHEN 0 THEN 'acme' WHEN 1 THEN 'globex' ELSE NULL END`);
    const store = new TicketStore(h.ctx.sql);
    const pages = new TicketPages(store);
    const byCustomer = (rows: { id: string; customer: string | null }[], customers: string[]) =>
      rows.filter((r) => r.customer !== null && customers.includes(r.customer)).map((r) => r.id);
    const open = await store.listOpen(10_000);
    const closed = await store.listClosed(10_000);
    const walkScoped = async (state: 'open' | 'closed' | 'all', limit: number, customers: string[]) => {
      const ids: string[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 1000; i++) {
        const page = await pages.scopedPage({ state, limit, ...(cursor !== undefined ? { cursor } : {}) }, customers);
        expect(page.views.length).toBeLessThanOrEqual(limit);
        expect(page.views.every((v) => v.customer !== null && customers.includes(v.customer))).toBe(true);
        ids.push(...page.views.map((v) => v.id));
        if (page.next === null) return ids;
        cursor = page.next;
      }
      throw new Error('no last page');
    };
    expect(await walkScoped('open', 37, ['acme'])).toEqual(byCustomer(open, ['acme']));
    expect(await walkScoped('closed', 500, ['globex'])).toEqual(byCustomer(closed, ['globex']));
    const both = ['acme', 'globex'];
    expect(await walkScoped('all', 777, both)).toEqual([...byCustomer(open, both), ...byCustomer(closed, both)]);
    expect(await walkScoped('all', 50, ['nobody'])).toEqual([]);
    expect(await pages.scopedPage({ state: 'all', limit: 10 }, [])).toEqual({ views: [], next: null });
  });

  it("the keyset queries use the open-tickets index, never a scan; a customer's closed pages use its own index", async () => {
    h = await makeTicketsHarness({ start: START });
    const pages = new TicketPages(new TicketStore(h.ctx.sql));
    /** The SQLite plan of a page query (its `$n` parameters all `value`). */
    const planOf = (sql: string, value: SqlValue) => {
      const p = toSqlitePositional(
        sql,
        Array.from({ length: 9 }, () => value),
      );
      return (h!.db.prepare(`EXPLAIN QUERY PLAN ${p.sql}`).all(...p.params) as { detail: string }[])
        .map((row) => row.detail)
        .join('\n');
    };
    const stmts = (pages as unknown as { stmts: Record<string, string> }).stmts;
    for (const [name, sql] of Object.entries(stmts)) {
      expect(planOf(sql, 1), name).not.toMatch(/SCAN tickets(?! USING)/);
    }
    // A customer's closed pages go through its own index entries, not through every customer's closed tickets.
    const scoped = (pages as unknown as { scopedStmts: Record<string, string> }).scopedStmts;
    for (const name of ['closedFirst', 'closedAfter']) {
      expect(planOf(scoped[name]!, '["acme"]'), name).toMatch(/USING (COVERING )?INDEX tickets_customer_open/);
    }
  });

  it('the compiled serialiser writes what JSON.stringify writes, optional fields included', async () => {
    h = await makeTicketsHarness({ start: START });
    await h.http.inject({ method: 'POST', url: '/api/tickets', payload: manual });
    const store = new TicketStore(h.ctx.sql);
    const views = (await store.listOpen(10)).map((r) => toTicketView(r, []));
    const withAll = {
      ...views[0]!,
      summary: 'freezes',
      attachments: [{ name: 'a.tgz', size: 1, sha256: 'ab', kind: 'device-logs', capturedAt: null }],
      futureField: { x: 1 },
    };
    expect(JSON.parse(serializeTickets([withAll]))).toEqual(JSON.parse(JSON.stringify([withAll])));
  });

  it('a ticket change drops the cached pages: the list shows it at once', async () => {
    h = await makeTicketsHarness({ start: START });
    const opened = await h.http.inject({ method: 'POST', url: '/api/tickets', payload: manual });
    const id = opened.json().id as string;
    expect((await get(h, '/api/tickets')).body.map((t: { state: string }) => t.state)).toEqual(['open']);
    await get(h, '/api/tickets'); // served from the cache
    await h.advance(60_000);
    const moved = await h.http.inject({
      method: 'POST',
      url: `/api/tickets/${id}/transitions`,
      payload: { to: 'acknowledged', actor: 'jan.k', note: '' },
    });
    expect(moved.statusCode).toBe(200);
    expect((await get(h, '/api/tickets')).body.map((t: { state: string }) => t.state)).toEqual(['acknowledged']);
    const second = await h.http.inject({ method: 'POST', url: '/api/tickets', payload: { ...manual, priority: 'P1' } });
    expect(second.statusCode).toBe(201);
    expect((await get(h, '/api/tickets')).body).toHaveLength(2);
    // An SLA warning marks the ticket: the cached page goes too.
    await h.advance(8 * 3600_000);
    const warned = (await get(h, '/api/tickets')).body.find((t: { id: string }) => t.id === second.json().id);
    expect(warned.sla.warned.length + warned.sla.breached.length).toBeGreaterThan(0);
  });
});
