/**
 * `GET /api/tickets?state=open` finds the open tickets through an index, never a scan of the whole table.
 * 200k tickets, 2k open, keep CI fast; speed itself is measured in bench/ (B9), never asserted here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../hub/db.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { TicketStore } from '../../hub/tickets/store.ts';

let dir: string | undefined;
let db: Db | undefined;
afterEach(() => {
  db?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  db = undefined;
  dir = undefined;
});

describe('ticket store at scale', () => {
  it('lists the open tickets sorted by next due, through the index', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hezo-scale-'));
    db = openDb(join(dir, 'hub.sqlite'));
    const store = new TicketStore(new SqliteStore(db));
    await store.migrate();
    // Every 100th ticket is open (2k); open ones have a next due spread over the day.
    db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
      INSERT INTO tickets (seq, id, serial, priority, channel, state, is_open, coverage, opened_at, title, next_due_ms, updated_at)
      SELECT i, printf('HZ-%06d', i), printf('SN-%05d', i % 5000), 'P' || (1 + i % 3), 'auto',
        CASE WHEN i % 100 = 0 THEN 'open' ELSE 'closed' END, CASE WHEN i % 100 = 0 THEN 1 ELSE 0 END, 'active',
        '2025-01-13T09:00:00.000Z', 'device down',
        CASE WHEN i % 100 = 0 THEN 1736758800000 + (i * 7919) % 86400000 ELSE NULL END, '2025-01-13T09:00:00.000Z'
      FROM n`);
    const plan = db
      .prepare(
        'EXPLAIN QUERY PLAN SELECT * FROM tickets WHERE is_open = 1 ORDER BY next_due_ms IS NULL, next_due_ms, seq LIMIT 10000',
      )
      .all() as { detail: string }[];
    const details = plan.map((p) => p.detail).join('\n');
    expect(details).toMatch(/SEARCH tickets USING INDEX tickets_open_next_due \(is_open=\?\)/);
    expect(details).not.toMatch(/SCAN tickets/);
    const open = await store.listOpen(10_000);
    expect(open).toHaveLength(2000);
    const isSorted = open.every((t, i) => i === 0 || t.nextDueMs! >= open[i - 1]!.nextDueMs!);
    expect(isSorted).toBe(true);
    expect(await store.openCountsByPriority()).toEqual({ P1: 666, P2: 667, P3: 667 });
  });
});
