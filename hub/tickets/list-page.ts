/**
 * `GET /api/tickets` pages: keyset cursor pagination (`cursor` query, next page in the `x-next-cursor` header and a
 * `Link: <...>; rel="next"` header; the body stays a plain array, as before), a serialiser compiled from a JSON
 * Schema of TicketView (fast-json-stringify), and a cache of serialised pages dropped on every ticket change
 * (bus `ticket` and `sla`, and other hub nodes' changes: `ticket-elsewhere`), so the open list is not rebuilt
 * (fromRaw + toTicketView + runningClocks + JSON per ticket) on every request. On the SqlStore (issue 16): a page
 * built while a change came in is not cached (it may predate the change).
 */
import fastJson from 'fast-json-stringify';
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { SqlStore, SqlValue } from '../store/sql-store.ts';
import type { TicketView } from '../types.ts';
import { jsonListSql, type TicketRow, type TicketStore } from './store.ts';
import { fromRaw, type RawTicket } from './store-schema.ts';
import { toTicketView } from './views.ts';

/** Default page size (was 1,000 before cursors: clients wanting more pass `limit`, up to 10,000, or follow the cursor). */
export const DEFAULT_PAGE = 100;

export const ListQuery = z.strictObject({
  state: z.enum(['open', 'closed', 'all']).default('open'),
  limit: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_PAGE),
  cursor: z.string().max(200).optional(),
});
export type ListQuery = z.infer<typeof ListQuery>;

/** Where a page ends: in the open list (its sort key) or in the closed list (its seq). */
type Cursor = { p: 'o'; n: 0 | 1; d: number; s: number } | { p: 'c'; s: number };

const CursorShape = z.union([
  z.strictObject({
    p: z.literal('o'),
    n: z.union([z.literal(0), z.literal(1)]),
    d: z.number().int(),
    s: z.number().int(),
  }),
  z.strictObject({ p: z.literal('c'), s: z.number().int() }),
]);

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(text: string, state: ListQuery['state']): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const result = CursorShape.safeParse(parsed);
  if (!result.success || (state === 'open' && result.data.p === 'c') || (state === 'closed' && result.data.p === 'o')) {
    throw new AppError(ErrorCode.PAYLOAD_INVALID, 'cursor: expected the x-next-cursor of a previous page');
  }
  return result.data;
}

const nullableString = { type: ['string', 'null'] };
const clocks = { type: 'array', items: { type: 'string' } };
/** TicketView (hub/types.ts); `additionalProperties: true` so that a field added later is never dropped. */
export const TICKET_VIEW_SCHEMA = {
  type: 'object',
  additionalProperties: true,
  required: ['id', 'serial', 'priority', 'channel', 'state', 'coverage', 'openedAt', 'title', 'sla', 'attachments'],
  properties: {
    id: { type: 'string' },
    serial: { type: 'string' },
    model: nullableString,
    site: nullableString,
    customer: nullableString,
    priority: { type: 'string' },
    channel: { type: 'string' },
    state: { type: 'string' },
    contract: nullableString,
    coverage: { type: 'string' },
    openedAt: { type: 'string' },
    title: { type: 'string' },
    summary: { type: 'string' },
    sla: {
      type: 'object',
      additionalProperties: true,
      properties: {
        clockStart: nullableString,
        reactionDue: nullableString,
        nextUpdateDue: nullableString,
        deliveryDue: nullableString,
        returnDue: nullableString,
        breached: clocks,
        warned: clocks,
        running: clocks,
        nextDue: nullableString,
      },
    },
    attachments: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: {
          name: { type: 'string' },
          size: { type: 'number' },
          sha256: { type: 'string' },
          kind: { type: 'string' },
          capturedAt: nullableString,
        },
      },
    },
    reporter: { type: 'string' },
    description: { type: 'string' },
  },
} as const;

export const serializeTickets: (views: unknown[]) => string = fastJson({ type: 'array', items: TICKET_VIEW_SCHEMA });

export interface TicketPage {
  body: string;
  next: string | null;
}

/** A page for a caller limited to some customers: the views (the access layer's filter still runs on them). */
export interface ScopedTicketPage {
  views: TicketView[];
  next: string | null;
}

const OPEN_ORDER = 'ORDER BY next_due_ms IS NULL, next_due_ms, seq';

type Statements = ReturnType<typeof statements>;

/** The page queries; `filter` narrows them (its parameters come first: `$1`), `p(n)` numbers the others after it. */
function statements(filter: string, first: number) {
  const p = (n: number) => `$${first + n}`;
  return {
    openFirst: `SELECT * FROM tickets WHERE is_open = 1 ${filter} ${OPEN_ORDER} LIMIT ${p(1)}`,
    openAfterDue: `SELECT * FROM tickets WHERE is_open = 1 ${filter}
         AND (next_due_ms IS NULL OR next_due_ms > ${p(1)} OR (next_due_ms = ${p(1)} AND seq > ${p(2)})) ${OPEN_ORDER}
         LIMIT ${p(3)}`,
    openAfterNull: `SELECT * FROM tickets WHERE is_open = 1 ${filter} AND next_due_ms IS NULL AND seq > ${p(1)}
         ORDER BY seq LIMIT ${p(2)}`,
    closedFirst: `SELECT * FROM tickets WHERE is_open = 0 ${filter} ORDER BY seq DESC LIMIT ${p(1)}`,
    closedAfter: `SELECT * FROM tickets WHERE is_open = 0 ${filter} AND seq < ${p(1)} ORDER BY seq DESC LIMIT ${p(2)}`,
  };
}

const MAX_CACHED_PAGES = 64;

export class TicketPages {
  private readonly store: TicketStore;
  private readonly sql: SqlStore;
  private readonly cache = new Map<string, TicketPage>();
  /** Counts invalidations: a page whose build saw one is not cached. */
  private generation = 0;
  private readonly stmts: Statements;
  private readonly scopedStmts: Statements;

  constructor(store: TicketStore) {
    this.store = store;
    this.sql = store.sql;
    this.stmts = statements('', 0);
    // the caller's customers: one JSON array parameter ($1)
    this.scopedStmts = statements(`AND customer IN ${jsonListSql(this.sql.dialect, '$1')}`, 1);
  }

  /** Forget every cached page (a ticket changed). */
  invalidate(): void {
    this.generation++;
    this.cache.clear();
  }

  async page(query: ListQuery): Promise<TicketPage> {
    const key = `${query.state}\u0000${query.limit}\u0000${query.cursor ?? ''}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const generation = this.generation;
    const { rows, next } = await this.collect(query, this.stmts, []);
    const attachments = await this.store.attachmentsFor(rows.map((r) => r.row.seq));
    const body = serializeTickets(rows.map(({ row }) => toTicketView(row, attachments.get(row.seq) ?? [])));
    const page = { body, next };
    if (generation !== this.generation) return page;
    if (this.cache.size >= MAX_CACHED_PAGES) this.cache.clear();
    this.cache.set(key, page);
    return page;
  }

  /**
   * The same page, cursor and order for a caller limited to `customers`, filtered in the query (not the first
   * N tickets of every customer filtered after: a customer's older tickets were cut off behind other customers').
   */
  async scopedPage(query: ListQuery, customers: readonly string[]): Promise<ScopedTicketPage> {
    if (customers.length === 0) return { views: [], next: null };
    const { rows, next } = await this.collect(query, this.scopedStmts, [JSON.stringify(customers)]);
    const attachments = await this.store.attachmentsFor(rows.map((r) => r.row.seq));
    return { views: rows.map(({ row }) => toTicketView(row, attachments.get(row.seq) ?? [])), next };
  }

  private async collect(
    query: ListQuery,
    stmts: Statements,
    filter: SqlValue[],
  ): Promise<{ rows: { row: TicketRow; open: boolean }[]; next: string | null }> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, query.state);
    // One row more than asked tells whether there is a next page.
    const want = query.limit + 1;
    let rows: { row: TicketRow; open: boolean }[] = [];
    if (query.state !== 'closed' && (after === undefined || after.p === 'o')) {
      rows = (await this.open(stmts, filter, after, want)).map((row) => ({ row, open: true }));
    }
    if (query.state !== 'open' && rows.length < want) {
      const closedAfter = after?.p === 'c' ? after.s : undefined;
      rows = rows.concat(
        (await this.closed(stmts, filter, closedAfter, want - rows.length)).map((row) => ({ row, open: false })),
      );
    }
    const more = rows.length > query.limit;
    if (more) rows = rows.slice(0, query.limit);
    const last = rows.at(-1);
    let next: string | null = null;
    if (more && last !== undefined) {
      next = encodeCursor(
        last.open
          ? { p: 'o', n: last.row.nextDueMs === null ? 1 : 0, d: last.row.nextDueMs ?? 0, s: last.row.seq }
          : { p: 'c', s: last.row.seq },
      );
    }
    return { rows, next };
  }

  private async open(stmts: Statements, filter: SqlValue[], after: Cursor | undefined, limit: number) {
    let raws: RawTicket[];
    if (after === undefined || after.p !== 'o')
      raws = await this.sql.query<RawTicket>(stmts.openFirst, [...filter, limit]);
    else if (after.n === 1) {
      raws = await this.sql.query<RawTicket>(stmts.openAfterNull, [...filter, after.s, limit]);
    } else raws = await this.sql.query<RawTicket>(stmts.openAfterDue, [...filter, after.d, after.s, limit]);
    return raws.map(fromRaw);
  }

  private async closed(stmts: Statements, filter: SqlValue[], afterSeq: number | undefined, limit: number) {
    const raws =
      afterSeq === undefined
        ? await this.sql.query<RawTicket>(stmts.closedFirst, [...filter, limit])
        : await this.sql.query<RawTicket>(stmts.closedAfter, [...filter, afterSeq, limit]);
    return raws.map(fromRaw);
  }
}
