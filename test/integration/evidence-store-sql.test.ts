/**
 * Issue 16: the evidence store (collections, commands, transfers with their chunk bitmaps) and the attachment content
 * (BLOB / bytea, keyed by sha256) on the SqlStore: ONE migration list and the same queries on the embedded SQLite file
 * and on a real PostgreSQL 15. The same script gives the same answers on both (bytes, byte counts beyond 2^31, NULLs,
 * insertion order under one timestamp); an earlier hub's SQLite file and its attachment files are accepted as they are.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../hub/db.ts';
import {
  AttachmentContent,
  CONTENT_MIGRATIONS,
  contentPath,
  PART_BYTES,
} from '../../hub/evidence/attachment-content.ts';
import { EvidenceStore, type TransferRow } from '../../hub/evidence/store.ts';
import { runMigrations } from '../../hub/store/migrations.ts';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import type { SqlDialect, SqlStore } from '../../hub/store/sql-store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { useSqlStores } from '../helpers/sql-stores.ts';

const stores = useSqlStores();

const AT = '2026-11-30T06:00:00.000Z';
const LATER = '2026-11-30T06:05:00.000Z';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function transfer(id: string, over: Partial<TransferRow> = {}): TransferRow {
  return {
    transferId: id,
    commandId: 'ev-1',
    ticketId: 'HZ-000001',
    serial: '8L2X50-0001',
    site: 'site-a',
    agentId: 'agent-a',
    name: `${id}.bin`,
    kind: 'device-logs',
    capturedAt: null,
    size: 3000,
    sha256: 'a'.repeat(64),
    total: 12,
    chunkBytes: null,
    received: Buffer.alloc(2),
    receivedCount: 0,
    receivedBytes: 0,
    state: 'receiving',
    reason: null,
    storedName: null,
    storedSha256: null,
    storedSize: null,
    isAcked: false,
    createdAt: AT,
    ...over,
  };
}

/** Everything the evidence module does with its store, in one script; returns what it read back. */
async function script(sql: SqlStore) {
  const store = new EvidenceStore(sql);
  await store.migrate();
  await store.migrate(); // a second start applies nothing
  const seen: Record<string, unknown> = {};

  await store.upsertCollection(
    { ticketId: 'HZ-000001', serial: '8L2X50-0001', state: 'collecting', attempts: 1, reason: null, roundAt: AT },
    AT,
  );
  await store.upsertCollection(
    {
      ticketId: 'HZ-000001',
      serial: '8L2X50-0001',
      state: 'collecting',
      attempts: 1,
      reason: null,
      roundAt: AT,
      logsInfo: '{"source":"fresh","cached":false}',
    },
    AT,
  );
  // a later upsert without logsInfo keeps the one recorded (COALESCE against the existing row)
  await store.upsertCollection(
    { ticketId: 'HZ-000001', serial: '8L2X50-0001', state: 'waiting', attempts: 2, reason: 'offline', roundAt: AT },
    LATER,
  );
  await store.upsertCollection(
    { ticketId: 'HZ-000002', serial: '8L2X70-0002', state: 'collecting', attempts: 1, reason: null, roundAt: AT },
    AT,
  );
  seen.collection = await store.collection('HZ-000001');
  seen.noCollection = await store.collection('HZ-404');

  await store.insertCommand({
    commandId: 'ev-2',
    ticketId: 'HZ-000001',
    serial: '8L2X50-0001',
    site: 'site-a',
    agentId: 'agent-a',
    kind: 'diagnose',
    purpose: 'collect',
    status: 'sent',
    detail: null,
    issuedAt: AT,
  });
  await store.insertCommand({
    commandId: 'ev-1',
    ticketId: 'HZ-000001',
    serial: '8L2X50-0001',
    site: 'site-a',
    agentId: 'agent-a',
    kind: 'collect-logs',
    purpose: 'collect',
    status: 'sent',
    detail: null,
    issuedAt: AT,
  });
  await store.insertCommand({
    commandId: 'ev-3',
    ticketId: null,
    serial: '8L2X50-0001',
    site: 'site-a',
    agentId: 'agent-a',
    kind: 'collect-logs',
    purpose: 'resume',
    status: 'sent',
    detail: null,
    issuedAt: LATER,
  });
  await store.setCommandStatus('ev-2', 'failed', 'COMMAND_TIMEOUT: no reply');
  seen.interrupted = await store.interruptInFlight(LATER);
  seen.commands = await store.commandsOf('HZ-000001');
  seen.resumeCommand = await store.command('ev-3');
  seen.collectingAfterRestart = (await store.collectionsIn('collecting')).map((c) => c.ticketId);
  seen.waiting = await store.collectionsIn('waiting');

  // three transfers under ONE timestamp: insertion order is kept (the newest of a kind is the last)
  const big = 3_000_000_000; // beyond a 32-bit integer
  await store.insertTransfer(transfer('t-c', { size: big, total: 12 }), AT);
  await store.insertTransfer(transfer('t-a', { kind: 'agent-trace', size: 5 }), AT);
  await store.insertTransfer(
    transfer('t-b', { state: 'rejected', reason: 'ATTACHMENT_TOO_LARGE: t-b', size: 7, total: 1 }),
    AT,
  );
  const c = (await store.transfer('t-c'))!;
  c.received[0] = 0b1000_0001;
  c.received[1] = 0b0000_1000;
  c.chunkBytes = 256;
  c.receivedCount = 3;
  c.receivedBytes = 768;
  await store.saveProgress(c, LATER);
  seen.progress = await store.transfer('t-c');
  seen.order = (await store.transfersOf('HZ-000001')).map((t) => t.transferId);
  seen.reserved = await store.reservedBytes('HZ-000001');
  seen.reservedNone = await store.reservedBytes('HZ-404');
  await store.finish(
    't-a',
    { state: 'stored', storedName: 'agent-trace.json', storedSha256: 'b'.repeat(64), storedSize: big + 1 },
    LATER,
  );
  seen.stored = await store.transfer('t-a');
  seen.source = await store.sourceOf('HZ-000001', 'agent-trace.json');
  seen.noSource = await store.sourceOf('HZ-000001', 't-c.bin');
  seen.receiving = (await store.transfersInState('receiving')).map((t) => t.transferId);
  seen.unackedBefore = (await store.unacked('agent-a')).map((t) => t.transferId);
  await store.markAcked(['t-a', 't-b', 'not-there']);
  await store.markAcked([]);
  seen.unackedAfter = (await store.unacked('agent-a')).map((t) => t.transferId);
  seen.acked = (await store.transfersOf('HZ-000001')).map((t) => [t.transferId, t.isAcked]);
  await store.finish('t-c', { state: 'rejected', reason: 'lost by the agent' }, LATER);
  seen.rejected = await store.transfer('t-c');
  seen.reservedAfter = await store.reservedBytes('HZ-000001');
  return seen;
}

async function contentScript(sql: SqlStore, dataDir: string) {
  const content = new AttachmentContent(sql, dataDir);
  await content.migrate();
  await content.migrate();
  const every = Buffer.alloc(1024 * 1024 + 3);
  for (let i = 0; i < every.length; i++) every[i] = (i * 7) & 0xff; // every byte value, zeros included
  const text = Buffer.from('hello\n');
  const seen: Record<string, unknown> = {};
  seen.firstPut = await content.put(sha(every), every, AT);
  seen.secondPut = await content.put(sha(every), every, LATER); // deduplicated
  seen.textPut = await content.put(sha(text), text, AT);
  seen.count = await content.count();
  seen.everySha = sha((await content.get(sha(every)))!);
  seen.text = (await content.get(sha(text)))?.toString();
  seen.has = await content.has(sha(text));
  seen.missing = await content.get('0'.repeat(64));
  seen.readMissing = await content.read({ sha256: '0'.repeat(64), storedPath: contentPath('0'.repeat(64)) });
  seen.openMissing = await content.open({ sha256: '0'.repeat(64), storedPath: contentPath('0'.repeat(64)) });
  // kept in parts of PART_BYTES, streamed back part by part
  seen.parts = await sql.query(
    'SELECT sha256, part, LENGTH(data) AS n FROM evidence_content_parts ORDER BY sha256, part',
  );
  const opened = (await content.open({ sha256: sha(every), storedPath: contentPath(sha(every)) }))!;
  const streamed: Buffer[] = [];
  for await (const chunk of opened.stream) streamed.push(chunk as Buffer);
  seen.opened = { size: opened.size, pieces: streamed.length, sha: sha(Buffer.concat(streamed)) };
  return seen;
}

describe('evidence store: the same answers on SQLite and PostgreSQL', () => {
  it('runs one script on both dialects and reads back the same rows', async () => {
    const results: Record<SqlDialect, Record<string, unknown>> = {
      sqlite: await script(await stores.make('sqlite')),
      postgres: await script(await stores.make('postgres')),
    };
    expect(results.postgres).toEqual(results.sqlite);
    const r = results.postgres;
    expect(r.collection).toEqual({
      ticketId: 'HZ-000001',
      serial: '8L2X50-0001',
      state: 'waiting',
      attempts: 2,
      reason: 'offline',
      logsInfo: '{"source":"fresh","cached":false}',
      roundAt: AT,
    });
    expect(r.noCollection).toBeUndefined();
    expect(r.interrupted).toBe(1);
    expect(r.collectingAfterRestart).toEqual([]);
    expect((r.waiting as { ticketId: string; reason: string }[]).map((c) => [c.ticketId, c.reason])).toEqual([
      ['HZ-000001', 'offline'],
      ['HZ-000002', 'hub restarted during collection'],
    ]);
    expect(
      (r.commands as { commandId: string; status: string; detail: string | null }[]).map((c) => [
        c.commandId,
        c.status,
        c.detail,
      ]),
    ).toEqual([
      ['ev-1', 'interrupted', null],
      ['ev-2', 'failed', 'COMMAND_TIMEOUT: no reply'],
    ]);
    expect(r.resumeCommand).toMatchObject({
      commandId: 'ev-3',
      ticketId: null,
      purpose: 'resume',
      status: 'interrupted',
    });
    const progress = r.progress as TransferRow;
    expect(Buffer.isBuffer(progress.received)).toBe(true);
    expect([...progress.received]).toEqual([0b1000_0001, 0b0000_1000]);
    expect(progress).toMatchObject({
      size: 3_000_000_000,
      chunkBytes: 256,
      receivedCount: 3,
      receivedBytes: 768,
      storedSize: null,
      isAcked: false,
    });
    expect(r.order).toEqual(['t-c', 't-a', 't-b']);
    expect(r.reserved).toBe(3_000_000_005);
    expect(r.reservedNone).toBe(0);
    expect(r.stored).toMatchObject({ state: 'stored', storedName: 'agent-trace.json', storedSize: 3_000_000_001 });
    expect(r.source).toEqual({ sha256: 'a'.repeat(64), size: 5, transferId: 't-a' });
    expect(r.noSource).toBeUndefined();
    expect(r.receiving).toEqual(['t-c']);
    expect(r.unackedBefore).toEqual(['t-a', 't-b']);
    expect(r.unackedAfter).toEqual([]);
    expect(r.acked).toEqual([
      ['t-c', false],
      ['t-a', true],
      ['t-b', true],
    ]);
    expect(r.rejected).toMatchObject({ state: 'rejected', reason: 'lost by the agent' });
    expect(r.reservedAfter).toBe(0);
  });

  it('keeps attachment bytes exactly, once per sha256, on both dialects', async () => {
    const dataDir = join(stores.sqliteDir, 'content-data');
    const results = {
      sqlite: await contentScript(await stores.make('sqlite'), dataDir),
      postgres: await contentScript(await stores.make('postgres'), dataDir),
    };
    expect(results.postgres).toEqual(results.sqlite);
    expect(results.postgres).toMatchObject({
      firstPut: true,
      secondPut: false,
      textPut: true,
      count: 2,
      text: 'hello\n',
      has: true,
      missing: undefined,
      readMissing: undefined,
      openMissing: undefined,
    });
    const every = 1024 * 1024 + 3;
    expect(results.postgres.opened).toEqual({ size: every, pieces: 2, sha: results.postgres.everySha });
    expect((results.postgres.parts as { n: unknown }[]).map((p) => Number(p.n)).sort((x, y) => x - y)).toEqual([
      3,
      6,
      PART_BYTES,
    ]);
  });

  it.each(['sqlite', 'postgres'] as const)(
    'content stored whole by the first version is read after the upgrade to parts (%s)',
    async (dialect) => {
      const sql = await stores.make(dialect);
      await runMigrations(sql, 'evidence-content', CONTENT_MIGRATIONS.slice(0, 1));
      const old = Buffer.from([0, 1, 2, 255, 0]);
      await sql.run('INSERT INTO evidence_content (sha256, size, data, created_at) VALUES ($1, $2, $3, $4)', [
        sha(old),
        old.length,
        old,
        AT,
      ]);
      const content = new AttachmentContent(sql, stores.sqliteDir);
      await content.migrate();
      expect([...((await content.get(sha(old))) ?? [])]).toEqual([...old]);
      expect((await content.open({ sha256: sha(old), storedPath: contentPath(sha(old)) }))?.size).toBe(5);
      expect(await content.put(sha(old), old, LATER)).toBe(false);
      expect(await content.count()).toBe(1);
    },
  );
});

const EARLIER_HUB_EVIDENCE = [
  `CREATE TABLE evidence_collections (
    ticket_id TEXT PRIMARY KEY,
    serial TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    logs_info TEXT,
    round_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE evidence_commands (
    command_id TEXT PRIMARY KEY,
    ticket_id TEXT,
    serial TEXT NOT NULL,
    site TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    purpose TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT,
    issued_at TEXT NOT NULL
  );
  CREATE INDEX evidence_commands_ticket ON evidence_commands(ticket_id);
  CREATE TABLE evidence_transfers (
    transfer_id TEXT PRIMARY KEY,
    command_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    site TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    captured_at TEXT,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    total INTEGER NOT NULL,
    chunk_bytes INTEGER,
    received BLOB NOT NULL,
    received_count INTEGER NOT NULL DEFAULT 0,
    received_bytes INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    reason TEXT,
    stored_name TEXT,
    stored_sha256 TEXT,
    stored_size INTEGER,
    is_acked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX evidence_transfers_ticket ON evidence_transfers(ticket_id);
  CREATE INDEX evidence_transfers_state ON evidence_transfers(state);`,
];

describe('evidence on the SQLite file and data folder of an earlier hub', () => {
  it('keeps the tables, rows and chunk bitmaps an earlier hub wrote, and its attachment files are still read', async () => {
    const file = stores.sqliteFile();
    const db = new Database(file);
    db.exec(`CREATE TABLE schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (module, version))`);
    // what hub/db.ts's migrate() applied as evidence version 1 before the SqlStore
    migrate(db, 'evidence', EARLIER_HUB_EVIDENCE);
    const insert =
      db.prepare(`INSERT INTO evidence_transfers (transfer_id, command_id, ticket_id, serial, site, agent_id,
      name, kind, size, sha256, total, received, received_count, received_bytes, state, created_at, updated_at)
      VALUES (?, 'ev-old', 'HZ-000009', 'SN-1', 'site-a', 'agent-a', ?, 'device-logs', 10, ?, 2, ?, 1, 5, 'receiving', ?, ?)`);
    insert.run('old-2', 'b.bin', 'c'.repeat(64), Buffer.from([0b01]), AT, AT);
    insert.run('old-1', 'a.bin', 'd'.repeat(64), Buffer.from([0b10]), AT, AT);
    db.prepare(`INSERT INTO evidence_collections (ticket_id, serial, state, attempts, round_at, updated_at)
      VALUES ('HZ-000009', 'SN-1', 'collecting', 1, ?, ?)`).run(AT, AT);

    const sql = new SqliteStore(db);
    const store = new EvidenceStore(sql);
    await store.migrate();
    const versions = db
      .prepare("SELECT version FROM schema_migrations WHERE module = 'evidence' ORDER BY version")
      .all();
    expect(versions).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
    expect(await store.interruptInFlight(LATER)).toBe(1);
    await store.insertTransfer(transfer('new-1', { ticketId: 'HZ-000009' }), AT);
    const rows = await store.transfersOf('HZ-000009');
    // the earlier rows in the order they were written (rowid), the new one after them
    expect(rows.map((t) => t.transferId)).toEqual(['old-2', 'old-1', 'new-1']);
    expect([...rows[1]!.received]).toEqual([0b10]);
    expect(rows[0]).toMatchObject({ size: 10, receivedCount: 1, receivedBytes: 5, state: 'receiving', isAcked: false });

    // attachment bytes an earlier hub wrote as files are served from there (read-through, nothing imported)
    const dataDir = join(stores.sqliteDir, 'earlier-hub-data');
    const bytes = Buffer.from('an earlier hub stored this\n');
    mkdirSync(join(dataDir, 'attachments'), { recursive: true });
    writeFileSync(join(dataDir, contentPath(sha(bytes))), bytes);
    const content = new AttachmentContent(sql, dataDir);
    await content.migrate();
    const meta = { sha256: sha(bytes), storedPath: contentPath(sha(bytes)) };
    expect((await content.read(meta))?.toString()).toBe(bytes.toString());
    expect(await content.get(sha(bytes))).toBeUndefined();
    // an absolute storedPath (written by hand) is read as is
    expect(
      (await content.read({ sha256: sha(bytes), storedPath: join(dataDir, contentPath(sha(bytes))) }))?.length,
    ).toBe(bytes.length);
    // content in the database wins over a file with the same name
    const newer = Buffer.from('in the database');
    await content.put(sha(newer), newer, AT);
    writeFileSync(join(dataDir, contentPath(sha(newer))), 'stale file');
    expect((await content.read({ sha256: sha(newer), storedPath: contentPath(sha(newer)) }))?.toString()).toBe(
      'in the database',
    );
    db.close();
  });
});

describe('evidence in flight on two hub nodes sharing one PostgreSQL', () => {
  it("a node that starts again interrupts only its own collections and commands, never the other node's", async () => {
    const setup = new PostgresStore(stores.postgres.url, { max: 1 });
    await setup.exec('CREATE SCHEMA shared_inflight');
    await setup.close();
    const url = `${stores.postgres.url}?options=-c%20search_path%3Dshared_inflight`;
    const sqlA = new PostgresStore(url);
    const sqlB = new PostgresStore(url);
    try {
      const a = new EvidenceStore(sqlA, 'hub-a');
      const b = new EvidenceStore(sqlB, 'hub-b');
      await Promise.all([a.migrate(), b.migrate()]);
      const collecting = (ticketId: string) =>
        ({ ticketId, serial: '8L2X50-0001', state: 'collecting', attempts: 1, reason: null, roundAt: AT }) as const;
      const command = (commandId: string, ticketId: string) => ({
        commandId,
        ticketId,
        serial: '8L2X50-0001',
        site: 'site-a',
        agentId: 'agent-a',
        kind: 'collect-logs' as const,
        purpose: 'collect' as const,
        status: 'sent' as const,
        detail: null,
        issuedAt: AT,
      });
      await a.upsertCollection(collecting('HZ-000001'), AT);
      await a.insertCommand(command('ev-a', 'HZ-000001'));
      await b.upsertCollection(collecting('HZ-000002'), AT);
      await b.insertCommand(command('ev-b', 'HZ-000002'));
      // hub-b restarts (kill -9): only its own work was in flight with it
      expect(await b.interruptInFlight(LATER)).toBe(1);
      expect((await a.collectionsIn('collecting')).map((c) => c.ticketId)).toEqual(['HZ-000001']);
      expect((await a.collectionsIn('waiting')).map((c) => c.ticketId)).toEqual(['HZ-000002']);
      expect((await a.command('ev-a'))?.status).toBe('sent');
      expect((await a.command('ev-b'))?.status).toBe('interrupted');

      // hub-a dies for good: a collection it left collecting before the cut-off is taken over once, by one node
      expect(await b.othersStaleCollecting(AT)).toEqual([]);
      const stale = await b.othersStaleCollecting(LATER);
      expect(stale.map((r) => [r.ticketId, r.node])).toEqual([['HZ-000001', 'hub-a']]);
      const c = new EvidenceStore(sqlA, 'hub-c');
      const row = stale[0]!;
      const wins = await Promise.all([b.takeOverCollection(row, LATER), c.takeOverCollection(row, LATER)]);
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect((await a.collectionsIn('waiting')).map((r) => r.ticketId)).toEqual(['HZ-000001', 'HZ-000002']);
      expect((await a.command('ev-a'))?.status).toBe('interrupted');
      expect(await c.othersStaleCollecting(LATER)).toEqual([]);
    } finally {
      await Promise.all([sqlA.close(), sqlB.close()]);
    }
  });
});

describe('attachment content shared by two hub nodes on one PostgreSQL', () => {
  it('both store the same content at once: one copy, whole; either node serves what the other stored', async () => {
    const setup = new PostgresStore(stores.postgres.url, { max: 1 });
    await setup.exec('CREATE SCHEMA shared_content');
    await setup.close();
    const url = `${stores.postgres.url}?options=-c%20search_path%3Dshared_content`;
    const nodeA = new PostgresStore(url);
    const nodeB = new PostgresStore(url);
    try {
      const a = new AttachmentContent(nodeA, stores.sqliteDir);
      const b = new AttachmentContent(nodeB, stores.sqliteDir);
      await Promise.all([a.migrate(), b.migrate()]);
      const data = Buffer.alloc(3 * PART_BYTES + 17, 9);
      const puts = await Promise.all([a.put(sha(data), data, AT), b.put(sha(data), data, AT)]);
      expect(puts.filter(Boolean)).toHaveLength(1); // exactly one node wrote it
      expect(await a.count()).toBe(1);
      const parts = await nodeA.query<{ n: string }>('SELECT COUNT(*) AS n FROM evidence_content_parts');
      expect(Number(parts[0]?.n)).toBe(4);
      expect(sha((await b.get(sha(data)))!)).toBe(sha(data));
      const onlyA = Buffer.from('stored by node A');
      await a.put(sha(onlyA), onlyA, LATER);
      const opened = (await b.open({ sha256: sha(onlyA), storedPath: contentPath(sha(onlyA)) }))!;
      const chunks: Buffer[] = [];
      for await (const chunk of opened.stream) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('stored by node A');
    } finally {
      await Promise.all([nodeA.close(), nodeB.close()]);
    }
  });
});

describe("an earlier hub's attachment files imported into PostgreSQL", () => {
  it('imports each file whose bytes match its name, once; names the ones that do not; leaves the files', async () => {
    const dataDir = join(stores.sqliteDir, 'import-data');
    const dir = join(dataDir, 'attachments');
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    const good = [Buffer.from('device log one\n'), Buffer.alloc(PART_BYTES + 1, 3)];
    for (const b of good) writeFileSync(join(dir, sha(b)), b);
    const corrupt = 'f'.repeat(64);
    writeFileSync(join(dir, corrupt), 'not what the name says');
    writeFileSync(join(dir, 'notes.txt'), 'not an attachment');
    const content = new AttachmentContent(await stores.make('postgres'), dataDir);
    await content.migrate();
    expect(await content.importFiles(AT)).toEqual({ imported: 2, present: 0, mismatched: [corrupt] });
    expect(await content.importFiles(LATER)).toEqual({ imported: 0, present: 2, mismatched: [corrupt] });
    expect(await content.count()).toBe(2);
    for (const b of good) {
      expect(sha((await content.get(sha(b)))!)).toBe(sha(b));
      expect(existsSync(join(dir, sha(b)))).toBe(true);
    }
    expect(await content.get(corrupt)).toBeUndefined();
    // a data folder without attachments: nothing to do
    const empty = new AttachmentContent(await stores.make('postgres'), join(stores.sqliteDir, 'no-such-dir'));
    await empty.migrate();
    expect(await empty.importFiles(AT)).toEqual({ imported: 0, present: 0, mismatched: [] });
  });
});
