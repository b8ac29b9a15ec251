/**
 * Reassembly of attachment transfers from `AttachmentChunk`s: each transfer is written into a temp file
 * (`<dataDir>/attachments/tmp/<transferId>.part`) at its chunk's offset, in any order and any number of times
 * (repeats after a reconnect are ignored), with a bitmap of the received chunks in SQLite so a transfer
 * survives a hub restart. When every chunk is in: sha256 of the whole file against the announced one
 * (CHECKSUM_MISMATCH -> note, discarded), redaction, then content-addressed storage in the hub's database
 * (attachment-content.ts: keyed by the sha256 of the stored bytes, deduplicated) and `ticketService.addAttachment`.
 * Size caps per attachment and per ticket are enforced from the first chunk (ATTACHMENT_TOO_LARGE -> note).
 */
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import { ErrorCode } from '../../protocols/errors.ts';
import type { AttachmentChunk } from '../../protocols/messages.ts';
import type { HubConfig } from '../config.ts';
import type { TicketService } from '../context.ts';
import type { InboundMessage } from '../events.ts';
import { type AttachmentContent, contentPath } from './attachment-content.ts';
import { hasBit, setBit, sha256Of, uniqueAttachmentName } from './chunk-map.ts';
import type { EvidenceStore, TransferRow } from './store.ts';
import { isWhollyReceived, type UnstoredAttachments } from './unstored-attachments.ts';
import { verifyTransfer } from './verify-transfer.ts';

export { nextMissingSeq, uniqueAttachmentName } from './chunk-map.ts';

/** Transfers with at least this many chunks log their progress (every ~10 %). */
const PROGRESS_MIN_CHUNKS = 10;

export interface TransferProgress {
  ticketId: string;
  serial: string;
  transferId: string;
  name: string;
  receivedBytes: number;
  size: number;
  percent: number;
}

export interface AssemblerDeps {
  store: EvidenceStore;
  /** Where the stored bytes go (the database). */
  content: AttachmentContent;
  /** Transfers whose bytes could not be stored yet (degraded health until they are). */
  unstored: UnstoredAttachments;
  config: Readonly<HubConfig>;
  clock: Clock;
  logger: Logger;
  tickets: () => TicketService | undefined;
  knownSecrets: readonly string[];
  /** A note on the ticket (CHECKSUM_MISMATCH, ATTACHMENT_TOO_LARGE, ...). */
  note(ticketId: string, text: string): void;
  progress(p: TransferProgress): void;
  /** A transfer was stored or rejected: nothing more will come of it. */
  finished(row: TransferRow): void;
}

export class TransferAssembler {
  private readonly deps: AssemblerDeps;
  private readonly log: Logger;
  private readonly queues = new Map<string, Promise<void>>();
  private readonly lastDecile = new Map<string, number>();
  private readonly warned = new Set<string>();
  private beginning: Promise<unknown> = Promise.resolve();
  readonly dir: string;
  readonly tmpDir: string;

  constructor(deps: AssemblerDeps) {
    this.deps = deps;
    this.log = deps.logger;
    this.dir = join(deps.config.dataDir, 'attachments');
    this.tmpDir = join(this.dir, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
  }

  /** Queue one chunk; chunks of one transfer are handled one at a time, transfers in parallel. */
  accept(inbound: InboundMessage<AttachmentChunk>): Promise<void> {
    return this.enqueue(inbound.message.transferId, () => this.handle(inbound), 'attachment chunk failed');
  }

  /**
   * A transfer that has every chunk but whose store failed (disk full, database away): store it again from its temp
   * file. A temp file that is gone (another node, a cleaned folder) starts the transfer over: the agent resends.
   */
  retryStore(transferId: string): Promise<void> {
    return this.enqueue(
      transferId,
      async () => {
        const row = await this.deps.store.transfer(transferId);
        if (row === undefined || !isWhollyReceived(row)) return;
        const hasTemp = await stat(this.tempPath(transferId)).then(
          () => true,
          () => false,
        );
        if (hasTemp) {
          this.log.info({ ticketId: row.ticketId, transferId, name: row.name }, 'storing a received attachment again');
          await this.complete(row);
          return;
        }
        row.received = Buffer.alloc(row.received.length);
        row.receivedCount = 0;
        row.receivedBytes = 0;
        await this.deps.store.saveProgress(row, this.now());
        this.deps.unstored.settled(transferId);
        this.log.warn({ ticketId: row.ticketId, transferId, name: row.name }, 'received attachment lost here: resent');
      },
      'attachment store failed again',
    );
  }

  private enqueue(id: string, task: () => Promise<void>, failure: string): Promise<void> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous
      .then(task)
      .catch((err: unknown) => this.log.error({ err, transferId: id }, failure))
      .finally(() => {
        if (this.queues.get(id) === next) this.queues.delete(id);
      });
    this.queues.set(id, next);
    return next;
  }

  /** Resolves once every chunk received so far is handled (optionally only those of some transfers). */
  async drain(transferIds?: readonly string[]): Promise<void> {
    const ids = transferIds ?? [...this.queues.keys()];
    await Promise.all(ids.map((id) => this.queues.get(id) ?? Promise.resolve()));
  }

  tempPath(transferId: string): string {
    return join(this.tmpDir, `${transferId}.part`);
  }

  private now(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }

  private warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.has(key)) return;
    if (this.warned.size > 10_000) this.warned.clear();
    this.warned.add(key);
    this.log.warn(fields, message);
  }

  private async handle(inbound: InboundMessage<AttachmentChunk>): Promise<void> {
    const chunk = inbound.message;
    const row = (await this.deps.store.transfer(chunk.transferId)) ?? (await this.begin(inbound));
    if (row === undefined) return;
    if (row.state !== 'receiving') {
      this.log.debug({ transferId: row.transferId, seq: chunk.seq, state: row.state }, 'chunk of a finished transfer');
      return;
    }
    if (
      chunk.sha256 !== row.sha256 ||
      chunk.size !== row.size ||
      chunk.total !== row.total ||
      chunk.seq >= row.total ||
      inbound.agentId !== row.agentId ||
      inbound.site !== row.site
    ) {
      this.warnOnce(
        `${row.transferId}:mismatch`,
        { transferId: row.transferId, seq: chunk.seq, agentId: inbound.agentId },
        'attachment chunk does not match its transfer: dropped',
      );
      return;
    }
    if (hasBit(row.received, chunk.seq)) return;
    const data = Buffer.from(chunk.data, 'base64');
    const isLast = chunk.seq === row.total - 1;
    if (!isLast) {
      if (row.chunkBytes === null) {
        if (data.length === 0 || Math.ceil(row.size / data.length) !== row.total) {
          this.warnOnce(
            `${row.transferId}:size`,
            { transferId: row.transferId, seq: chunk.seq, bytes: data.length },
            'attachment chunk size inconsistent: dropped',
          );
          return;
        }
        row.chunkBytes = data.length;
      } else if (data.length !== row.chunkBytes) {
        this.warnOnce(
          `${row.transferId}:size`,
          { transferId: row.transferId, seq: chunk.seq, bytes: data.length },
          'attachment chunk size inconsistent: dropped',
        );
        return;
      }
    }
    const offset = isLast ? row.size - data.length : chunk.seq * (row.chunkBytes ?? 0);
    if (offset < 0 || offset + data.length > row.size || (row.total === 1 && data.length !== row.size)) {
      this.warnOnce(
        `${row.transferId}:offset`,
        { transferId: row.transferId, seq: chunk.seq },
        'attachment chunk outside the file: dropped',
      );
      return;
    }
    await this.writeAt(row, offset, data);
    setBit(row.received, chunk.seq);
    row.receivedCount++;
    row.receivedBytes += data.length;
    await this.deps.store.saveProgress(row, this.now());
    this.reportProgress(row);
    if (row.receivedCount >= row.total) await this.complete(row);
  }

  private async writeAt(row: TransferRow, offset: number, data: Buffer): Promise<void> {
    const path = this.tempPath(row.transferId);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, 'r+');
    } catch {
      // Temp file gone (first chunk, or data folder cleaned): start over, the bitmap with it.
      await mkdir(this.tmpDir, { recursive: true });
      handle = await open(path, 'w');
      await handle.truncate(row.size);
      row.received = Buffer.alloc(row.received.length);
      row.receivedCount = 0;
      row.receivedBytes = 0;
    }
    try {
      await handle.write(data, 0, data.length, offset);
    } finally {
      await handle.close();
    }
  }

  /**
   * First chunk of a transfer. One begin at a time: the per-ticket cap reads what is attached and reserved, then
   * reserves; two transfers of one ticket starting together must not both see the room that only one of them fits.
   */
  private begin(inbound: InboundMessage<AttachmentChunk>): Promise<TransferRow | undefined> {
    const next = this.beginning.then(() => this.beginNow(inbound));
    this.beginning = next.catch(() => undefined);
    return next;
  }

  /** Map the transfer to its ticket through the command, check the caps, create the row. */
  private async beginNow(inbound: InboundMessage<AttachmentChunk>): Promise<TransferRow | undefined> {
    const chunk = inbound.message;
    const command = await this.deps.store.command(chunk.commandId);
    if (command === undefined || command.ticketId === null) {
      this.warnOnce(
        chunk.transferId,
        { transferId: chunk.transferId, commandId: chunk.commandId, agentId: inbound.agentId },
        'attachment chunk for a command the hub did not send: dropped',
      );
      return undefined;
    }
    if (command.agentId !== inbound.agentId || command.site !== inbound.site || command.serial !== chunk.serial) {
      this.warnOnce(
        chunk.transferId,
        { transferId: chunk.transferId, commandId: chunk.commandId, agentId: inbound.agentId, serial: chunk.serial },
        'attachment chunk from another agent or device than the command: dropped',
      );
      return undefined;
    }
    const service = this.deps.tickets();
    const ticket = await service?.get(command.ticketId);
    if (service === undefined || ticket === undefined) {
      this.warnOnce(
        chunk.transferId,
        { transferId: chunk.transferId, ticketId: command.ticketId },
        'attachment for an unknown ticket: dropped',
      );
      return undefined;
    }
    const row: TransferRow = {
      transferId: chunk.transferId,
      commandId: chunk.commandId,
      ticketId: command.ticketId,
      serial: chunk.serial,
      site: inbound.site,
      agentId: inbound.agentId,
      name: chunk.name,
      kind: chunk.kind,
      capturedAt: chunk.capturedAt ?? null,
      size: chunk.size,
      sha256: chunk.sha256,
      total: chunk.total,
      chunkBytes: null,
      received: Buffer.alloc(Math.ceil(chunk.total / 8)),
      receivedCount: 0,
      receivedBytes: 0,
      state: 'receiving',
      reason: null,
      storedName: null,
      storedSha256: null,
      storedSize: null,
      isAcked: false,
      createdAt: this.now(),
    };
    const limits = this.deps.config.attachments;
    const used =
      ticket.attachments.reduce((n, a) => n + a.size, 0) + (await this.deps.store.reservedBytes(row.ticketId));
    let tooLarge: string | undefined;
    if (row.size > limits.maxBytesPerAttachment) {
      tooLarge = `${ErrorCode.ATTACHMENT_TOO_LARGE}: ${row.name} is ${row.size} bytes, limit ${limits.maxBytesPerAttachment}`;
    } else if (used + row.size > limits.maxBytesPerTicket) {
      tooLarge = `${ErrorCode.ATTACHMENT_TOO_LARGE}: ${row.name} is ${row.size} bytes, limit ${limits.maxBytesPerTicket} per ticket (${used} bytes already attached or arriving); not stored`;
    }
    if (tooLarge !== undefined) {
      row.state = 'rejected';
      row.reason = tooLarge;
      await this.deps.store.insertTransfer(row, row.createdAt);
      this.log.warn(
        { ticketId: row.ticketId, transferId: row.transferId, name: row.name, size: row.size },
        'attachment too large: not stored',
      );
      this.deps.note(row.ticketId, tooLarge);
      this.deps.finished(row);
      return row;
    }
    await this.deps.store.insertTransfer(row, row.createdAt);
    this.log.info(
      { ticketId: row.ticketId, transferId: row.transferId, name: row.name, size: row.size, chunks: row.total },
      'attachment transfer started',
    );
    return row;
  }

  private reportProgress(row: TransferRow): void {
    if (row.total < PROGRESS_MIN_CHUNKS) return;
    const percent = Math.floor((row.receivedBytes * 100) / Math.max(1, row.size));
    const decile = Math.floor(percent / 10);
    if (decile <= (this.lastDecile.get(row.transferId) ?? 0) && row.receivedCount < row.total) return;
    this.lastDecile.set(row.transferId, decile);
    const p: TransferProgress = {
      ticketId: row.ticketId,
      serial: row.serial,
      transferId: row.transferId,
      name: row.name,
      receivedBytes: row.receivedBytes,
      size: row.size,
      percent,
    };
    this.log.info({ ...p, chunks: row.receivedCount, total: row.total }, 'attachment transfer progress');
    this.deps.progress(p);
  }

  private async reject(row: TransferRow, reason: string): Promise<void> {
    this.deps.unstored.settled(row.transferId);
    row.state = 'rejected';
    row.reason = reason;
    await this.deps.store.finish(row.transferId, { state: 'rejected', reason }, this.now());
    this.deps.note(row.ticketId, reason);
    this.deps.finished(row);
  }

  /** Every chunk is in: verify, redact, store, attach. */
  private async complete(row: TransferRow): Promise<void> {
    this.lastDecile.delete(row.transferId);
    const temp = this.tempPath(row.transferId);
    const verified = await verifyTransfer(temp, row, {
      limits: this.deps.config.attachments,
      knownSecrets: this.deps.knownSecrets,
    });
    if (!verified.ok) {
      await rm(temp, { force: true });
      if (verified.log !== undefined) {
        const fields = { ticketId: row.ticketId, transferId: row.transferId, name: row.name, ...verified.log.fields };
        this.log.warn(fields, verified.log.message);
      }
      await this.reject(row, verified.reason);
      return;
    }
    const stored = verified.stored;
    const sha = sha256Of(stored);
    let exists: boolean;
    try {
      exists = !(await this.deps.content.put(sha, stored, this.now()));
    } catch (err) {
      // disk full, database away: the transfer stays receiving, its temp file kept and not acknowledged (retryStore)
      this.deps.unstored.failed(row.transferId, err);
      throw err;
    }
    this.deps.unstored.settled(row.transferId);
    const service = this.deps.tickets();
    const ticket = await service?.get(row.ticketId);
    if (service === undefined || ticket === undefined) {
      await rm(temp, { force: true });
      await this.reject(row, `attachment ${row.name}: ticket ${row.ticketId} no longer exists`);
      return;
    }
    const name = uniqueAttachmentName(row.name, new Set(ticket.attachments.map((a) => a.name)));
    await service.addAttachment(row.ticketId, {
      name,
      size: stored.length,
      sha256: sha,
      kind: row.kind,
      capturedAt: row.capturedAt,
      storedPath: contentPath(sha),
    });
    row.state = 'stored';
    row.storedName = name;
    row.storedSha256 = sha;
    row.storedSize = stored.length;
    await this.deps.store.finish(
      row.transferId,
      { state: 'stored', storedName: name, storedSha256: sha, storedSize: stored.length },
      this.now(),
    );
    await rm(temp, { force: true });
    this.log.info(
      {
        ticketId: row.ticketId,
        transferId: row.transferId,
        name,
        size: stored.length,
        sha256: sha,
        isDuplicate: exists,
      },
      'attachment stored',
    );
    this.deps.finished(row);
  }
}
