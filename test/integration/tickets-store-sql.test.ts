/**
 * Issue 16: the ticket store on the SqlStore. The same queries and ONE migration list on the embedded SQLite file and
 * on a real PostgreSQL 15: ids and numbering, history, contacts, attachments, SLA events and site alerts; duplicates
 * refused by the database (one open automatic ticket per device and key, one SLA event per ticket, clock, level and
 * due), also when two hub nodes (two stores on one PostgreSQL) write at the same moment; an automatic ticket opened
 * inside a fenced transaction commits or vanishes with it; a SQLite file of an earlier hub is accepted as is.
 */
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BusinessCalendar } from '../../hub/calendar/business-calendar.ts';
import { StaleEpochError, withFence } from '../../hub/cluster/fencing.ts';
import { migrateCluster } from '../../hub/cluster/lease-schema.ts';
import { LeaseStore } from '../../hub/cluster/lease-store.ts';
import { BusinessCalendarConfig } from '../../hub/config.ts';
import { migrate } from '../../hub/db.ts';
import { stepSql } from '../../hub/store/migrations.ts';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import type { SqlStore } from '../../hub/store/sql-store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import type { WriteFence } from '../../hub/tickets/auto-open.ts';
import { TicketPages } from '../../hub/tickets/list-page.ts';
import { TicketsService } from '../../hub/tickets/service.ts';
import { SiteAlertStore } from '../../hub/tickets/site-alert-store.ts';
import { type NewTicket, TicketStore } from '../../hub/tickets/store.ts';
import { TICKET_MIGRATIONS } from '../../hub/tickets/store-schema.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { useSqlStores } from '../helpers/sql-stores.ts';

const stores = useSqlStores();
const AT = '2026-11-30T06:00:00.000Z';
const DUE = Date.parse('2026-11-30T07:00:00.000Z');

function autoTicket(serial: string, autoKey: string | null = 'device-health'): NewTicket {
  return {
    serial,
    model: 'StudioX50',
    site: 'waw-hq',
    customer: 'acme',
    priority: 'P1',
    channel: autoKey === null ? 'phone' : 'auto',
    state: 'open',
    contract: 'C-100',
    coverage: 'active',
    openedAt: AT,
    title: `StudioX50 ${serial} down`,
    summary: null,
    reporter: autoKey === null ? 'Anna' : null,
    description: null,
    autoKey,
    clocks: {
      clockStartMs: Date.parse(AT),
      reactionDueMs: DUE,
      updateStartMs: null,
      updateDueMs: null,
      deliveryStartMs: null,
      deliveryDueMs: null,
      returnStartMs: null,
      returnDueMs: null,
    },
    nextDueMs: DUE,
  };
}

const first = { at: AT, actor: 'hezo-monitor', note: 'opened automatically' };

describe.each(['sqlite', 'postgres'] as const)('ticket store on %s', (dialect) => {
  it('stores, numbers, updates and lists tickets the same way on both dialects', async () => {
    const sql = await stores.make(dialect);
    const store = new TicketStore(sql);
    await store.migrate();
    await store.migrate(); // a second start applies nothing

    const a = await store.insertTicket(autoTicket('SN-1'), first, AT);
    expect(a).toMatchObject({ seq: 1, id: 'HZ-000001', serial: 'SN-1', nextDueMs: DUE, breached: [], warned: [] });
    expect(a?.clocks.reactionDueMs).toBe(DUE); // BIGINT back as a number on PostgreSQL too
    // the same device and key while it is open: the database says no, nothing is written
    expect(await store.insertTicket(autoTicket('SN-1'), first, AT)).toBeUndefined();
    // another key of the same device, and manual tickets (no key), are separate tickets
    expect((await store.insertTicket(autoTicket('SN-1', 'rule:firmware'), first, AT))?.id).toBe('HZ-000002');
    expect((await store.insertTicket(autoTicket('SN-1', null), first, AT))?.id).toBe('HZ-000003');
    expect((await store.insertTicket(autoTicket('SN-1', null), first, AT))?.id).toBe('HZ-000004');

    const updated = await store.updateTicket(
      1,
      (current) => ({
        patch: { state: 'acknowledged', nextDueMs: null },
        history: [
          { at: AT, kind: 'transition', from: current.state, to: 'acknowledged', actor: 'jan', note: 'called' },
        ],
        contact: { at: AT, actor: 'jan', note: 'called' },
        attachment: { name: 'logs.txt', size: 12, sha256: 'a'.repeat(64), kind: 'device-logs', storedPath: 'x' },
      }),
      AT,
    );
    expect(updated).toMatchObject({ id: 'HZ-000001', state: 'acknowledged', nextDueMs: null });
    expect((await store.history(1)).map((h) => [h.kind, h.from, h.to])).toEqual([
      ['opened', null, 'open'],
      ['transition', 'open', 'acknowledged'],
    ]);
    expect(await store.contacts(1)).toEqual([{ at: AT, actor: 'jan', note: 'called' }]);
    expect(await store.attachment(1, 'logs.txt')).toMatchObject({ size: 12, storedPath: 'x', capturedAt: null });
    expect([...(await store.attachmentsFor([1, 2, 99])).keys()]).toEqual([1]);

    // a refused decision writes nothing
    await expect(
      store.updateTicket(
        1,
        () => {
          throw new Error('transition refused');
        },
        AT,
      ),
    ).rejects.toThrow('transition refused');
    expect((await store.history(1)).length).toBe(2);

    await store.updateTicket(1, () => ({ patch: { state: 'closed' }, history: [] }), AT);
    // closed: the device's next fault opens a new automatic ticket
    expect((await store.insertTicket(autoTicket('SN-1'), first, AT))?.id).toBe('HZ-000005');
    expect((await store.listOpen(10)).map((t) => t.id)).toEqual(['HZ-000002', 'HZ-000003', 'HZ-000004', 'HZ-000005']);
    expect((await store.listClosed(10)).map((t) => t.id)).toEqual(['HZ-000001']);
    expect((await store.listRunning()).map((t) => t.seq)).toEqual([2, 3, 4, 5]);
    expect(await store.openCountsByPriority()).toEqual({ P1: 4, P2: 0, P3: 0 });
    expect(await store.owners(3)).toEqual([
      { seq: 4, customer: 'acme' },
      { seq: 5, customer: 'acme' },
    ]);

    // SLA events: once per ticket, clock, level and due
    expect(await store.recordSlaEvent(2, 'reaction', 'warning', DUE, AT)).toBe(true);
    expect(await store.recordSlaEvent(2, 'reaction', 'warning', DUE, AT)).toBe(false);
    expect(await store.recordSlaEvent(2, 'reaction', 'breach', DUE, AT)).toBe(true);
    expect(await store.slaEvents(2)).toEqual([
      { clock: 'reaction', level: 'warning', dueMs: DUE, at: AT },
      { clock: 'reaction', level: 'breach', dueMs: DUE, at: AT },
    ]);
    expect(await store.getById('HZ-000002')).toMatchObject({ breached: ['reaction'], warned: ['reaction'] });

    const alerts = new SiteAlertStore(sql);
    await alerts.insertSiteAlert({
      site: 'krk',
      agentId: 'a-1',
      status: 'raised',
      at: AT,
      reason: 'r',
      serials: ['X'],
    });
    expect(await alerts.siteAlerts(5)).toEqual([
      { id: 1, site: 'krk', agentId: 'a-1', status: 'raised', at: AT, reason: 'r', serials: ['X'] },
    ]);
  });

  it('list pages follow their cursors through open and closed tickets, scoped by customer in the query', async () => {
    const store = new TicketStore(await stores.make(dialect));
    await store.migrate();
    for (let i = 0; i < 30; i++) {
      const t = autoTicket(`SN-${i}`);
      // some without a running clock, dues out of order, two customers
      t.nextDueMs = i % 5 === 0 ? null : DUE + ((i * 7) % 11) * 60_000;
      t.customer = i % 2 === 0 ? 'acme' : 'globex';
      await store.insertTicket(t, first, AT);
    }
    for (const seq of [3, 8, 13])
      await store.updateTicket(seq, () => ({ patch: { state: 'closed' }, history: [] }), AT);
    const pages = new TicketPages(store);
    const walk = async (state: 'open' | 'closed' | 'all', customers?: string[]) => {
      const ids: string[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 100; i++) {
        const query = { state, limit: 4, ...(cursor !== undefined ? { cursor } : {}) };
        const page =
          customers === undefined
            ? await pages.page(query).then((p) => ({ views: JSON.parse(p.body) as { id: string }[], next: p.next }))
            : await pages.scopedPage(query, customers);
        ids.push(...page.views.map((v) => v.id));
        if (page.next === null) return ids;
        cursor = page.next;
      }
      throw new Error('no last page');
    };
    const open = await store.listOpen(100);
    const closed = await store.listClosed(100);
    expect(open).toHaveLength(27);
    expect(await walk('open')).toEqual(open.map((t) => t.id));
    expect(await walk('all')).toEqual([...open, ...closed].map((t) => t.id));
    const globex = [...open, ...closed].filter((t) => t.customer === 'globex').map((t) => t.id);
    expect(await walk('all', ['globex'])).toEqual(globex);
    expect(await walk('closed', ['nobody'])).toEqual([]);
  });

  it('an unknown or malformed id is undefined and never reaches the database', async () => {
    const store = new TicketStore(await stores.make(dialect));
    await store.migrate();
    await store.insertTicket(autoTicket('SN-1'), first, AT);
    for (const id of ['HZ-000009', 'nope', "HZ-1' OR '1'='1", `HZ-${'9'.repeat(30)}`, 'HZ-000000', 'HZ-0000001']) {
      expect(await store.getById(id)).toBeUndefined();
    }
    expect((await store.getById('HZ-000001'))?.seq).toBe(1);
  });
});

describe('ticket store on PostgreSQL, two hub nodes at once', () => {
  async function twoNodes(): Promise<[TicketStore, TicketStore]> {
    const url = await stores.postgresUrl();
    const a = new TicketStore(new PostgresStore(url, { max: 4 }));
    const b = new TicketStore(new PostgresStore(url, { max: 4 }));
    await Promise.all([a.migrate(), b.migrate()]); // both start together: each step applied once
    return [a, b];
  }

  it('two nodes opening the same fault at once store ONE automatic ticket (20 faults)', async () => {
    const [a, b] = await twoNodes();
    try {
      const serials = Array.from({ length: 20 }, (_, i) => `SN-${i}`);
      const results = await Promise.all(
        serials.flatMap((serial) => [
          a.insertTicket(autoTicket(serial), first, AT),
          b.insertTicket(autoTicket(serial), first, AT),
        ]),
      );
      // per fault: one opener got the ticket, the other nothing (and updates the winner's ticket instead)
      for (let i = 0; i < serials.length; i++) {
        const pair = [results[2 * i], results[2 * i + 1]];
        expect(
          pair.filter((r) => r !== undefined),
          serials[i],
        ).toHaveLength(1);
      }
      const open = await a.listOpen(100);
      expect(open).toHaveLength(20);
      expect(new Set(open.map((t) => t.serial)).size).toBe(20);
      // ticket numbers stay gap-free and unique across the two nodes
      expect(open.map((t) => t.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      await a.sql.close();
      await b.sql.close();
    }
  });

  it('two nodes recording the same SLA breach at once: stored and announced once', async () => {
    const [a, b] = await twoNodes();
    try {
      for (let i = 0; i < 10; i++) await a.insertTicket(autoTicket(`SN-${i}`), first, AT);
      const recorded = await Promise.all(
        Array.from({ length: 10 }, (_, i) => [
          a.recordSlaEvent(i + 1, 'reaction', 'breach', DUE, AT),
          b.recordSlaEvent(i + 1, 'reaction', 'breach', DUE, AT),
        ]).flat(),
      );
      expect(recorded.filter((r) => r)).toHaveLength(10);
      for (let i = 0; i < 10; i++) expect(recorded[2 * i] !== recorded[2 * i + 1]).toBe(true);
      const rows = await a.sql.query<{ n: string }>('SELECT COUNT(*) AS n FROM sla_events');
      expect(Number(rows[0]?.n)).toBe(10);
    } finally {
      await a.sql.close();
      await b.sql.close();
    }
  });

  it('an automatic ticket opened inside a fenced write commits with it; a stale epoch writes nothing', async () => {
    const url = await stores.postgresUrl();
    const sql = new PostgresStore(url, { max: 4 });
    try {
      await migrateCluster(sql);
      const leases = new LeaseStore(sql);
      await leases.prepare(2);
      const store = new TicketStore(sql);
      await store.migrate();
      const lease = await leases.acquire(0, 'hub-a', 60_000);
      expect(lease?.epoch).toBe(1);
      const opened = await withFence(sql, 0, 1, (tx) => store.insertTicket(autoTicket('SN-F'), first, AT, tx));
      expect(opened?.id).toBe('HZ-000001');
      // the epoch moved on (another node took the partition): the old holder's open is refused, nothing stored
      await sql.run('UPDATE cluster_leases SET epoch = epoch + 1 WHERE partition = 0');
      await expect(
        withFence(sql, 0, 1, (tx) => store.insertTicket(autoTicket('SN-G'), first, AT, tx)),
      ).rejects.toBeInstanceOf(StaleEpochError);
      // a rejection inside the fenced transaction after the insert rolls the ticket back too
      await expect(
        withFence(sql, 0, 2, async (tx) => {
          await store.insertTicket(autoTicket('SN-H'), first, AT, tx);
          throw new Error('later step failed');
        }),
      ).rejects.toThrow('later step failed');
      expect((await store.listOpen(10)).map((t) => t.serial)).toEqual(['SN-F']);
    } finally {
      await sql.close();
    }
  });
});

describe('the tickets service with a fencing epoch (PostgreSQL)', () => {
  it('opens an automatic ticket inside the fence and announces it after the commit; a stale epoch writes and says nothing', async () => {
    const sql = new PostgresStore(await stores.postgresUrl(), { max: 4 });
    try {
      await migrateCluster(sql);
      const leases = new LeaseStore(sql);
      await leases.prepare(1);
      expect((await leases.acquire(0, 'hub-a', 60_000))?.epoch).toBe(1);
      const store = new TicketStore(sql);
      await store.migrate();
      const said: string[] = [];
      const calendar = new BusinessCalendar(BusinessCalendarConfig.parse({}));
      const service = new TicketsService({
        store,
        clock: new ManualClock(AT),
        logger: pino({ level: 'silent' }),
        calendarFor: () => calendar,
        registry: () => undefined,
        emit: (ticket, change) => said.push(`${ticket.id}:${change}`),
      });
      const fence =
        (epoch: number): WriteFence =>
        (write) =>
          withFence(sql, 0, epoch, write);
      const fault = (serial: string) => ({
        serial,
        state: 'down' as const,
        reason: 'all-channels-failed',
        evidence: [],
      });
      expect((await service.openAuto(fault('SN-F'), fence(1))).change).toBe('opened');
      expect((await service.openAuto(fault('SN-F'), fence(1))).change).toBe('note');
      await sql.run('UPDATE cluster_leases SET epoch = epoch + 1 WHERE partition = 0'); // another node took over
      await expect(service.openAuto(fault('SN-G'), fence(1))).rejects.toBeInstanceOf(StaleEpochError);
      await expect(service.openAuto(fault('SN-F'), fence(1))).rejects.toBeInstanceOf(StaleEpochError);
      expect(said).toEqual(['HZ-000001:opened', 'HZ-000001:note']);
      expect((await store.listOpen(10)).map((t) => t.serial)).toEqual(['SN-F']);
      expect((await store.history(1)).map((h) => h.kind)).toEqual(['opened', 'device-state']);
    } finally {
      await sql.close();
    }
  });
});

describe('ticket store on a SQLite file of an earlier hub', () => {
  it('keeps the tickets an earlier hub wrote with its own ledger and continues their numbering', async () => {
    const db = new Database(stores.sqliteFile());
    db.exec(`CREATE TABLE schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (module, version))`);
    // what hub/db.ts's migrate() applied as tickets versions 1..13 before the SqlStore
    migrate(
      db,
      'tickets',
      TICKET_MIGRATIONS.map((step) => stepSql(step, 'sqlite')),
    );
    db.prepare(
      `INSERT INTO tickets (seq, id, serial, priority, channel, state, is_open, coverage, opened_at, title, auto_key,
         next_due_ms, updated_at)
       VALUES (1, 'HZ-000001', 'SN-OLD', 'P1', 'auto', 'open', 1, 'active', ?, 'old', 'device-health', ?, ?)`,
    ).run(AT, DUE, AT);
    const sql: SqlStore = new SqliteStore(db);
    const store = new TicketStore(sql);
    await store.migrate();
    expect((await store.getById('HZ-000001'))?.serial).toBe('SN-OLD');
    expect(await store.insertTicket(autoTicket('SN-OLD'), first, AT)).toBeUndefined(); // its open ticket counts
    expect((await store.insertTicket(autoTicket('SN-NEW'), first, AT))?.id).toBe('HZ-000002');
    db.close();
  });
});
