/**
 * The evidence module's tables on the SqlStore (issue 16: the same queries on the embedded SQLite file and on
 * PostgreSQL): one collection per ticket (state, attempts), the commands it sent (command id -> ticket, so chunks
 * map to their ticket even after a hub restart), and every transfer with a bitmap of the chunks received
 * (incomplete transfers survive a restart and are resumed). The tables and their migrations: store-schema.ts.
 */
import { runMigrations } from '../store/migrations.ts';
import type { SqlStore, SqlValue } from '../store/sql-store.ts';
import type { Channel } from '../types.ts';
import { EVIDENCE_MIGRATIONS } from './store-schema.ts';

export { EVIDENCE_MIGRATIONS } from './store-schema.ts';

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

/** PostgreSQL returns BIGINT and SUM as strings; SQLite as numbers. */
function num(v: unknown): number {
  return Number(v);
}

function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

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
    size: num(r.size),
    sha256: r.sha256 as string,
    total: num(r.total),
    chunkBytes: numOrNull(r.chunk_bytes),
    received: Buffer.from(r.received as Uint8Array),
    receivedCount: num(r.received_count),
    receivedBytes: num(r.received_bytes),
    state: r.state as TransferState,
    reason: (r.reason as string | null) ?? null,
    storedName: (r.stored_name as string | null) ?? null,
    storedSha256: (r.stored_sha256 as string | null) ?? null,
    storedSize: numOrNull(r.stored_size),
    isAcked: num(r.is_acked) === 1,
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
    attempts: num(r.attempts),
    reason: (r.reason as string | null) ?? null,
    logsInfo: (r.logs_info as string | null) ?? null,
    roundAt: r.round_at as string,
  };
}

const TRANSFER_COLUMNS = `transfer_id, command_id, ticket_id, serial, site, agent_id, name, kind, captured_at, size,
  sha256, total, chunk_bytes, received, received_count, received_bytes, state, reason, stored_name, stored_sha256,
  stored_size, is_acked, created_at`;

export class EvidenceStore {
  private readonly sql: SqlStore;
  /** This hub node (issue 16): recorded with the work it has in flight. */
  private readonly node: string;

  constructor(sql: SqlStore, node = 'hub') {
    this.sql = sql;
    this.node = node;
  }

  async migrate(): Promise<void> {
    await runMigrations(this.sql, 'evidence', EVIDENCE_MIGRATIONS);
  }

  private async one<T>(sql: string, params: readonly SqlValue[], map: (r: Raw) => T): Promise<T | undefined> {
    const rows = await this.sql.query<Raw>(sql, params);
    return rows[0] === undefined ? undefined : map(rows[0]);
  }

  private async all<T>(sql: string, params: readonly SqlValue[], map: (r: Raw) => T): Promise<T[]> {
    return (await this.sql.query<Raw>(sql, params)).map(map);
  }

  // --- collections ---

  collection(ticketId: string): Promise<CollectionRow | undefined> {
    return this.one('SELECT * FROM evidence_collections WHERE ticket_id = $1', [ticketId], toCollection);
  }

  /**
   * Open tickets that have no collection row at all (hub/evidence/missed-rounds.ts). Reads the tickets table of the
   * same database (the tickets store's), oldest first.
   */
  openTicketsWithoutCollection(): Promise<
    { id: string; serial: string; channel: Channel; site: string | null; openedAt: string }[]
  > {
    return this.all(
      `SELECT t.id, t.serial, t.channel, t.site, t.opened_at FROM tickets t
       WHERE t.is_open = 1 AND NOT EXISTS (SELECT 1 FROM evidence_collections c WHERE c.ticket_id = t.id)
       ORDER BY t.seq`,
      [],
      (r) => ({
        id: String(r.id),
        serial: String(r.serial),
        channel: String(r.channel) as Channel,
        site: r.site === null || r.site === undefined ? null : String(r.site),
        openedAt: String(r.opened_at),
      }),
    );
  }

  /**
   * Collections another node left `collecting` since before `before` (its node died, or never came back: a live
   * node ends a collection within its collect timeout). Oldest first, with the node and time that identify the row.
   */
  async othersStaleCollecting(
    before: string,
  ): Promise<{ ticketId: string; serial: string; node: string; updatedAt: string }[]> {
    const rows = await this.sql.query<Raw>(
      `SELECT ticket_id, serial, node, updated_at FROM evidence_collections
       WHERE state = 'collecting' AND node IS NOT NULL AND node <> $1 AND updated_at < $2 ORDER BY updated_at`,
      [this.node, before],
    );
    return rows.map((r) => ({
      ticketId: String(r.ticket_id),
      serial: String(r.serial),
      node: String(r.node),
      updatedAt: String(r.updated_at),
    }));
  }

  /**
   * Take a collection over from the node that left it (the row as read: of two takers, one wins): it waits for its
   * agent at this node, and its commands still `sent` are interrupted (a new attempt may be sent). True if taken.
   */
  takeOverCollection(row: { ticketId: string; node: string; updatedAt: string }, at: string): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const n = await tx.run(
        `UPDATE evidence_collections SET state = 'waiting', reason = $1, updated_at = $2, node = $3
         WHERE ticket_id = $4 AND state = 'collecting' AND node = $5 AND updated_at = $6`,
        [`hub node ${row.node} stopped during collection`, at, this.node, row.ticketId, row.node, row.updatedAt],
      );
      if (n !== 1) return false;
      await tx.run(
        `UPDATE evidence_commands SET status = 'interrupted' WHERE ticket_id = $1 AND status = 'sent' AND node = $2`,
        [row.ticketId, row.node],
      );
      return true;
    });
  }

  collectionsIn(state: CollectionState): Promise<CollectionRow[]> {
    return this.all('SELECT * FROM evidence_collections WHERE state = $1 ORDER BY ticket_id', [state], toCollection);
  }

  async upsertCollection(
    row: Omit<CollectionRow, 'logsInfo'> & { logsInfo?: string | null },
    at: string,
  ): Promise<void> {
    await this.sql.run(
      `INSERT INTO evidence_collections (ticket_id, serial, state, attempts, reason, logs_info, round_at, updated_at, node)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (ticket_id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
         reason = excluded.reason, logs_info = COALESCE(excluded.logs_info, evidence_collections.logs_info),
         round_at = excluded.round_at, updated_at = excluded.updated_at, node = excluded.node`,
      [row.ticketId, row.serial, row.state, row.attempts, row.reason, row.logsInfo ?? null, row.roundAt, at, this.node],
    );
  }

  /**
   * After a restart nothing of THIS node is in flight: its collections that were collecting wait for their agent.
   * Another hub node's work on the shared store is left alone (it is still waiting for its replies).
   */
  interruptInFlight(at: string): Promise<number> {
    return this.sql.transaction(async (tx) => {
      await tx.run(
        `UPDATE evidence_commands SET status = 'interrupted' WHERE status = 'sent' AND (node = $1 OR node IS NULL)`,
        [this.node],
      );
      return tx.run(
        `UPDATE evidence_collections SET state = 'waiting', reason = 'hub restarted during collection', updated_at = $1
         WHERE state = 'collecting' AND (node = $2 OR node IS NULL)`,
        [at, this.node],
      );
    });
  }

  // --- commands ---

  async insertCommand(row: CommandRow): Promise<void> {
    await this.sql.run(
      `INSERT INTO evidence_commands
         (command_id, ticket_id, serial, site, agent_id, kind, purpose, status, detail, issued_at, node)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        row.commandId,
        row.ticketId,
        row.serial,
        row.site,
        row.agentId,
        row.kind,
        row.purpose,
        row.status,
        row.detail,
        row.issuedAt,
        this.node,
      ],
    );
  }

  command(commandId: string): Promise<CommandRow | undefined> {
    return this.one('SELECT * FROM evidence_commands WHERE command_id = $1', [commandId], toCommand);
  }

  commandsOf(ticketId: string): Promise<CommandRow[]> {
    return this.all(
      'SELECT * FROM evidence_commands WHERE ticket_id = $1 ORDER BY issued_at, command_id',
      [ticketId],
      toCommand,
    );
  }

  async setCommandStatus(commandId: string, status: CommandStatus, detail: string | null): Promise<void> {
    await this.sql.run('UPDATE evidence_commands SET status = $1, detail = $2 WHERE command_id = $3', [
      status,
      detail,
      commandId,
    ]);
  }

  // --- transfers ---

  transfer(transferId: string): Promise<TransferRow | undefined> {
    return this.one(
      `SELECT ${TRANSFER_COLUMNS} FROM evidence_transfers WHERE transfer_id = $1`,
      [transferId],
      toTransfer,
    );
  }

  /** Oldest first (the last of a kind is the newest). */
  transfersOf(ticketId: string): Promise<TransferRow[]> {
    return this.all(
      `SELECT ${TRANSFER_COLUMNS} FROM evidence_transfers WHERE ticket_id = $1 ORDER BY created_at, seq`,
      [ticketId],
      toTransfer,
    );
  }

  transfersInState(state: TransferState): Promise<TransferRow[]> {
    return this.all(
      `SELECT ${TRANSFER_COLUMNS} FROM evidence_transfers WHERE state = $1 ORDER BY created_at, seq`,
      [state],
      toTransfer,
    );
  }

  /** Stored or rejected transfers the agent has not been told about yet (it keeps its copy until then). */
  unacked(agentId: string): Promise<TransferRow[]> {
    return this.all(
      `SELECT ${TRANSFER_COLUMNS} FROM evidence_transfers
       WHERE agent_id = $1 AND state != 'receiving' AND is_acked = 0 ORDER BY created_at, seq`,
      [agentId],
      toTransfer,
    );
  }

  async insertTransfer(row: TransferRow, at: string): Promise<void> {
    await this.sql.run(
      `INSERT INTO evidence_transfers (transfer_id, command_id, ticket_id, serial, site, agent_id, name, kind,
         captured_at, size, sha256, total, chunk_bytes, received, received_count, received_bytes, state, reason,
         created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)`,
      [
        row.transferId,
        row.commandId,
        row.ticketId,
        row.serial,
        row.site,
        row.agentId,
        row.name,
        row.kind,
        row.capturedAt,
        row.size,
        row.sha256,
        row.total,
        row.chunkBytes,
        row.received,
        row.receivedCount,
        row.receivedBytes,
        row.state,
        row.reason,
        at,
      ],
    );
  }

  async saveProgress(row: TransferRow, at: string): Promise<void> {
    await this.sql.run(
      `UPDATE evidence_transfers SET chunk_bytes = $1, received = $2, received_count = $3, received_bytes = $4,
         updated_at = $5 WHERE transfer_id = $6`,
      [row.chunkBytes, row.received, row.receivedCount, row.receivedBytes, at, row.transferId],
    );
  }

  async finish(
    transferId: string,
    result:
      | { state: 'stored'; storedName: string; storedSha256: string; storedSize: number }
      | { state: 'rejected'; reason: string },
    at: string,
  ): Promise<void> {
    if (result.state === 'stored') {
      await this.sql.run(
        `UPDATE evidence_transfers SET state = 'stored', stored_name = $1, stored_sha256 = $2, stored_size = $3,
           updated_at = $4 WHERE transfer_id = $5`,
        [result.storedName, result.storedSha256, result.storedSize, at, transferId],
      );
    } else {
      await this.sql.run(
        `UPDATE evidence_transfers SET state = 'rejected', reason = $1, updated_at = $2 WHERE transfer_id = $3`,
        [result.reason, at, transferId],
      );
    }
  }

  async markAcked(transferIds: readonly string[]): Promise<void> {
    if (transferIds.length === 0) return;
    const list = transferIds.map((_id, i) => `$${i + 1}`).join(', ');
    await this.sql.run(`UPDATE evidence_transfers SET is_acked = 1 WHERE transfer_id IN (${list})`, transferIds);
  }

  /** Bytes of this ticket's transfers still arriving (reserved against the per-ticket cap). */
  async reservedBytes(ticketId: string): Promise<number> {
    const rows = await this.sql.query<{ n: number | string }>(
      `SELECT COALESCE(SUM(size), 0) AS n FROM evidence_transfers WHERE ticket_id = $1 AND state = 'receiving'`,
      [ticketId],
    );
    return num(rows[0]?.n ?? 0);
  }

  /** The source sha256 (as the agent announced it, before redaction) of a stored attachment. */
  sourceOf(
    ticketId: string,
    storedName: string,
  ): Promise<{ sha256: string; size: number; transferId: string } | undefined> {
    return this.one(
      `SELECT sha256, size, transfer_id FROM evidence_transfers
       WHERE ticket_id = $1 AND stored_name = $2 AND state = 'stored'`,
      [ticketId, storedName],
      (r) => ({ sha256: r.sha256 as string, size: num(r.size), transferId: r.transfer_id as string }),
    );
  }
}
