/** Small pure helpers of the transfer reassembly: chunk bitmaps, digests, attachment names. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { TransferRow } from './store.ts';

export function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function hasBit(bits: Buffer, seq: number): boolean {
  return ((bits[seq >> 3] ?? 0) & (1 << (seq & 7))) !== 0;
}

export function setBit(bits: Buffer, seq: number): void {
  bits[seq >> 3] = (bits[seq >> 3] ?? 0) | (1 << (seq & 7));
}

/** The first chunk not received yet (`total` when complete): where the agent should resume. */
export function nextMissingSeq(row: Pick<TransferRow, 'received' | 'total'>): number {
  for (let seq = 0; seq < row.total; seq++) if (!hasBit(row.received, seq)) return seq;
  return row.total;
}

/** `device-logs.tar.gz` -> `device-logs-2.tar.gz` when the ticket already has that name. */
export function uniqueAttachmentName(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name)) return name;
  const dot = name.indexOf('.', 1);
  const stem = dot === -1 ? name : name.slice(0, dot);
  const ext = dot === -1 ? '' : name.slice(dot);
  for (let i = 2; ; i++) {
    const candidate = `${stem}-${i}${ext}`;
    if (!taken.has(candidate)) return candidate;
  }
}
