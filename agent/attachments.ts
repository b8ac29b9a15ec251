/**
 * Attachment transfers to the hub: a file is kept in `<dataDir>/transfers/<transferId>.{bin,json}`, sent as
 * `AttachmentChunk` messages (ATTACHMENT_CHUNK_BYTES each, sha256 of the whole file in every chunk,
 * seq/total) over QoS 1 within the inflight cap, and kept until the hub acknowledges it in a later
 * command's `resumeFrom` (`seq >= total`) or for an hour. A transfer cut by a disconnect resumes from the
 * chunk named in `resumeFrom`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AttachmentChunk } from '../protocols/messages.ts';
import { encodeChecked } from '../protocols/wire.ts';
import { ATTACHMENT_CHUNK_BYTES } from '../protocols/wire-limits.ts';

export const TRANSFER_KEEP_MS = 60 * 60 * 1000;

export interface TransferMeta {
  transferId: string;
  commandId: string;
  serial: string;
  name: string;
  kind: AttachmentChunk['kind'];
  capturedAt?: string;
  size: number;
  sha256: string;
  total: number;
  createdAtMs: number;
}

export type PublishFn = (payload: string) => Promise<void>;

export class TransferStore {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'transfers');
  }

  async create(
    data: Buffer,
    info: Pick<TransferMeta, 'commandId' | 'serial' | 'name' | 'kind'> & { capturedAt?: string | undefined },
    nowMs: number,
  ): Promise<TransferMeta> {
    await mkdir(this.dir, { recursive: true });
    const meta: TransferMeta = {
      transferId: `t${randomBytes(12).toString('hex')}`,
      commandId: info.commandId,
      serial: info.serial,
      name: info.name,
      kind: info.kind,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      total: Math.max(1, Math.ceil(data.length / ATTACHMENT_CHUNK_BYTES)),
      createdAtMs: nowMs,
    };
    if (info.capturedAt) meta.capturedAt = info.capturedAt;
    await writeFile(join(this.dir, `${meta.transferId}.bin`), data);
    await writeFile(join(this.dir, `${meta.transferId}.json`), JSON.stringify(meta));
    return meta;
  }

  async get(transferId: string): Promise<TransferMeta | undefined> {
    if (!/^[A-Za-z0-9_-]{6,64}$/.test(transferId)) return undefined;
    try {
      return JSON.parse(await readFile(join(this.dir, `${transferId}.json`), 'utf8')) as TransferMeta;
    } catch {
      return undefined;
    }
  }

  async remove(transferId: string): Promise<void> {
    await rm(join(this.dir, `${transferId}.bin`), { force: true });
    await rm(join(this.dir, `${transferId}.json`), { force: true });
  }

  /** Delete transfers older than an hour. */
  async sweep(nowMs: number): Promise<number> {
    let removed = 0;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const meta = await this.get(name.slice(0, -5));
      if (meta && nowMs - meta.createdAtMs > TRANSFER_KEEP_MS) {
        await this.remove(meta.transferId);
        removed++;
      }
    }
    return removed;
  }

  /** Send chunks `fromSeq..total-1`, in order, each awaited (QoS 1 within the inflight cap). */
  async send(meta: TransferMeta, fromSeq: number, publish: PublishFn, onChunk?: (seq: number) => void): Promise<void> {
    const handle = await open(join(this.dir, `${meta.transferId}.bin`), 'r');
    try {
      const buffer = Buffer.alloc(ATTACHMENT_CHUNK_BYTES);
      for (let seq = Math.max(0, fromSeq); seq < meta.total; seq++) {
        const { bytesRead } = await handle.read(buffer, 0, ATTACHMENT_CHUNK_BYTES, seq * ATTACHMENT_CHUNK_BYTES);
        const chunk: AttachmentChunk = {
          v: 1,
          transferId: meta.transferId,
          commandId: meta.commandId,
          serial: meta.serial,
          name: meta.name,
          kind: meta.kind,
          seq,
          total: meta.total,
          size: meta.size,
          sha256: meta.sha256,
          data: buffer.subarray(0, bytesRead).toString('base64'),
        };
        if (meta.capturedAt) chunk.capturedAt = meta.capturedAt;
        await publish(encodeChecked('attachment', chunk));
        onChunk?.(seq);
      }
    } finally {
      await handle.close();
    }
  }
}

/** Reassemble chunks (tests and the hub side of a round trip): checks seq coverage and sha256. */
export function assembleChunks(chunks: readonly AttachmentChunk[]): Buffer {
  const sorted = [...chunks].sort((a, b) => a.seq - b.seq);
  const first = sorted[0];
  if (!first) throw new Error('no chunks');
  const bySeq = new Map(sorted.map((c) => [c.seq, c]));
  const parts: Buffer[] = [];
  for (let seq = 0; seq < first.total; seq++) {
    const c = bySeq.get(seq);
    if (!c) throw new Error(`chunk ${seq} of ${first.total} missing`);
    parts.push(Buffer.from(c.data, 'base64'));
  }
  const data = Buffer.concat(parts);
  if (createHash('sha256').update(data).digest('hex') !== first.sha256) throw new Error('sha256 mismatch');
  return data;
}
