/**
 * The evidence module's SQLite tables (`migrate(db, 'evidence', ...)`): one collection per ticket (state, attempts),
 * the commands it sent (command id -> ticket, so chunks map to their ticket even after a hub restart), and every
 * transfer with a bitmap of the chunks received (incomplete transfers survive a restart and are resumed).
 */
import type { Db } from '../db.ts';
import { migrate } from '../db.ts';

const MIGRATIONS = [
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

export type CollectionState = 'collecting' | 'waiting' | 'done' | 'gave-up';
export type CommandPurpose = 'collect' | 'resume';
export type CommandStatus = 'sent' | 'replied' | 'failed' | 'interrupted';
export type TransferState = 'receiving' | 'stored' | 'rejected';

export interface CollectionRow {
  ticketId: string;
  serial: string;
  state: CollectionState;
  attempts: number;
  reason: string | null;
  logsInfo: string | null;
  /** Start of the current round (opened / escalated): its commands are the ones issued since. */
  roundAt: string;
}

export interface CommandRow {
  commandId: string;
  ticketId: string | null;
  serial: string;
  site: string;
  agentId: string;
  kind: string;
  purpose: CommandPurpose;
  status: CommandStatus;
  detail: string | null;
  issuedAt: string;
}

export interface TransferRow {
  transferId: string;
  commandId: string;
  ticketId: string;
  serial: string;
  site: string;
  agentId: string;
  name: string;
  kind: 'device-logs' | 'service-tests' | 'agent-trace';
  capturedAt: string | null;
  size: number;
  sha256: string;
  total: number;
  chunkBytes: number | null;
  received: Buffer;
  receivedCount: number;
  receivedBytes: number;
  state: TransferState;
  reason: string | null;
  storedName: string | null;
  storedSha256: string | null;
  storedSize: number | null;
  isAcked: boolean;
  createdAt: string;
}

type Raw = Record<string, unknown>;

function toTransfer(r: Raw): TransferRow {
  return {
    transferId: r.transfer_id as string,
    commandId: r.command_id as string,
    ticketId: r.ticket_id as string,
    serial: r.serial as string,
    site: r.site as string,
    agentId: r.agent_id as string,
    name: r.name as string,
    kind: r.kind as TransferRow['kind'],
    capturedAt: (r.captured_at as string | null) ?? null,
    size: r.size as number,
    sha256: r.sha256 as string,
    total: r.total as number,
    chunkBytes: (r.chunk_bytes as number | null) ?? null,
    received: Buffer.from(r.received as Uint8Array),
    receivedCount: r.received_count as number,
    receivedBytes: r.received_bytes as number,
    state: r.state as TransferState,
    reason: (r.reason as string | null) ?? null,
    storedName: (r.stored_name as string | null) ?? null,
    storedSha256: (r.stored_sha256 as string | null) ?? null,
    storedSize: (r.stored_size as number | null) ?? null,
    isAcked: r.is_acked === 1,
    createdAt: r.created_at as string,
  };
}

function toCommand(r: Raw): CommandRow {
  return {
    commandId: r.command_id as string,
    ticketId: (r.ticket_id as string | null) ?? null,
    serial: r.serial as string,
    site: r.site as string,
    agentId: r.agent_id as string,
    kind: r.kind as string,
    purpose: r.purpose as CommandPurpose,
    status: r.status as CommandStatus,
    detail: (r.detail as string | null) ?? null,
    issuedAt: r.issued_at as string,
  };
}

function toCollection(r: Raw): CollectionRow {
  return {
    ticketId: r.ticket_id as string,
    serial: r.serial as string,
    state: r.state as CollectionState,
    attempts: r.attempts as number,
    reason: (r.reason as string | null) ?? null,
    logsInfo: (r.logs_info as string | null) ?? null,
    roundAt: r.round_at as string,
  };
}

export class EvidenceStore {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  migrate(): void {
    migrate(this.db, 'evidence', MIGRATIONS);
  }

  // --- collections ---

  collection(ticketId: string): CollectionRow | undefined {
    const r = this.db.prepare('SELECT * FROM evidence_collections WHERE ticket_id = ?').get(ticketId) as
      | Raw
      | undefined;
    return r === undefined ? undefined : toCollection(r);
  }

  collectionsIn(state: CollectionState): CollectionRow[] {
    return (this.db.prepare('SELECT * FROM evidence_collections WHERE state = ?').all(state) as Raw[]).map(
      toCollection,
    );
  }

  upsertCollection(row: Omit<CollectionRow, 'logsInfo'> & { logsInfo?: string | null }, at: string): void {
    this.db
      .prepare(
        `INSERT INTO evidence_collections (ticket_id, serial, state, attempts, reason, logs_info, round_at, updated_at)
         VALUES (@ticketId, @serial, @state, @attempts, @reason, @logsInfo, @roundAt, @at)
         ON CONFLICT(ticket_id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
           reason = excluded.reason, logs_info = COALESCE(excluded.logs_info, logs_info),
           round_at = excluded.round_at, updated_at = excluded.updated_at`,
      )
      .run({ ...row, logsInfo: row.logsInfo ?? null, at });
  }

  /** After a restart nothing is in flight: collections that were collecting wait for their agent. */
  interruptInFlight(at: string): number {
    this.db.prepare(`UPDATE evidence_commands SET status = 'interrupted' WHERE status = 'sent'`).run();
    return this.db
      .prepare(
        `UPDATE evidence_collections SET state = 'waiting', reason = 'hub restarted during collection', updated_at = ?
         WHERE state = 'collecting'`,
      )
      .run(at).changes;
  }

  // --- commands ---

  insertCommand(row: CommandRow): void {
    this.db
      .prepare(
        `INSERT INTO evidence_commands (command_id, ticket_id, serial, site, agent_id, kind, purpose, status, detail, issued_at)
         VALUES (@commandId, @ticketId, @serial, @site, @agentId, @kind, @purpose, @status, @detail, @issuedAt)`,
      )
      .run(row);
  }

  command(commandId: string): CommandRow | undefined {
    const r = this.db.prepare('SELECT * FROM evidence_commands WHERE command_id = ?').get(commandId) as Raw | undefined;
    return r === undefined ? undefined : toCommand(r);
  }

  commandsOf(ticketId: string): CommandRow[] {
    return (
      this.db.prepare('SELECT * FROM evidence_commands WHERE ticket_id = ? ORDER BY issued_at').all(ticketId) as Raw[]
    ).map(toCommand);
  }

  setCommandStatus(commandId: string, status: CommandStatus, detail: string | null): void {
    this.db
      .prepare('UPDATE evidence_commands SET status = ?, detail = ? WHERE command_id = ?')
      .run(status, detail, commandId);
  }

  // --- transfers ---

  transfer(transferId: string): TransferRow | undefined {
    const r = this.db.prepare('SELECT * FROM evidence_transfers WHERE transfer_id = ?').get(transferId) as
      | Raw
      | undefined;
    return r === undefined ? undefined : toTransfer(r);
  }

  transfersOf(ticketId: string): TransferRow[] {
    return (
      this.db
        .prepare('SELECT * FROM evidence_transfers WHERE ticket_id = ? ORDER BY created_at, rowid')
        .all(ticketId) as Raw[]
    ).map(toTransfer);
  }

  transfersInState(state: TransferState): TransferRow[] {
    return (this.db.prepare('SELECT * FROM evidence_transfers WHERE state = ?').all(state) as Raw[]).map(toTransfer);
  }

  /** Stored or rejected transfers the agent has not been told about yet (it keeps its copy until then). */
  unacked(agentId: string): TransferRow[] {
    return (
      this.db
        .prepare(`SELECT * FROM evidence_transfers WHERE agent_id = ? AND state != 'receiving' AND is_acked = 0`)
        .all(agentId) as Raw[]
    ).map(toTransfer);
  }

  insertTransfer(row: TransferRow, at: string): void {
    this.db
      .prepare(
        `INSERT INTO evidence_transfers (transfer_id, command_id, ticket_id, serial, site, agent_id, name, kind,
           captured_at, size, sha256, total, chunk_bytes, received, received_count, received_bytes, state, reason,
           created_at, updated_at)
         VALUES (@transferId, @commandId, @ticketId, @serial, @site, @agentId, @name, @kind, @capturedAt, @size,
           @sha256, @total, @chunkBytes, @received, @receivedCount, @receivedBytes, @state, @reason, @at, @at)`,
      )
      .run({ ...row, at });
  }

  saveProgress(row: TransferRow, at: string): void {
    this.db
      .prepare(
        `UPDATE evidence_transfers SET chunk_bytes = ?, received = ?, received_count = ?, received_bytes = ?,
           updated_at = ? WHERE transfer_id = ?`,
      )
      .run(row.chunkBytes, row.received, row.receivedCount, row.receivedBytes, at, row.transferId);
  }

  finish(
    transferId: string,
    result:
      | { state: 'stored'; storedName: string; storedSha256: string; storedSize: number }
      | { state: 'rejected'; reason: string },
    at: string,
  ): void {
    if (result.state === 'stored') {
      this.db
        .prepare(
          `UPDATE evidence_transfers SET state = 'stored', stored_name = ?, stored_sha256 = ?, stored_size = ?,
             updated_at = ? WHERE transfer_id = ?`,
        )
        .run(result.storedName, result.storedSha256, result.storedSize, at, transferId);
    } else {
      this.db
        .prepare(`UPDATE evidence_transfers SET state = 'rejected', reason = ?, updated_at = ? WHERE transfer_id = ?`)
        .run(result.reason, at, transferId);
    }
  }

  markAcked(transferIds: readonly string[]): void {
    const stmt = this.db.prepare('UPDATE evidence_transfers SET is_acked = 1 WHERE transfer_id = ?');
    this.db.transaction(() => {
      for (const id of transferIds) stmt.run(id);
    })();
  }

  /** Bytes of this ticket's transfers still arriving (reserved against the per-ticket cap). */
  reservedBytes(ticketId: string): number {
    const r = this.db
      .prepare(`SELECT COALESCE(SUM(size), 0) AS n FROM evidence_transfers WHERE ticket_id = ? AND state = 'receiving'`)
      .get(ticketId) as { n: number };
    return r.n;
  }

  /** The source sha256 (as the agent announced it, before redaction) of a stored attachment. */
  sourceOf(ticketId: string, storedName: string): { sha256: string; size: number; transferId: string } | undefined {
    const r = this.db
      .prepare(
        `SELECT sha256, size, transfer_id FROM evidence_transfers WHERE ticket_id = ? AND stored_name = ? AND state = 'stored'`,
      )
      .get(ticketId, storedName) as { sha256: string; size: number; transfer_id: string } | undefined;
    return r === undefined ? undefined : { sha256: r.sha256, size: r.size, transferId: r.transfer_id };
  }
}
