/**
 * Bounded decompression for attachments: a gzip that would expand beyond `attachments.maxDecompressedBytes` is
 * refused before anything else reads it. The check runs zlib off the event loop (thread pool) and stops at the
 * limit (`maxOutputLength`), so a 250 KB gzip of 250 MB neither blocks the hub nor costs more than the limit.
 */
import { gunzip } from 'node:zlib';
import { isGzip } from '../../protocols/tar-archive.ts';

export type InflateCheck = { ok: true } | { ok: false; why: string };

/** Whether `data` (gzip or not) stays within `limit` bytes once decompressed. Never throws. */
export function checkInflatedSize(data: Buffer, limit: number): Promise<InflateCheck> {
  if (!isGzip(data)) return Promise.resolve({ ok: true });
  return new Promise((resolve) => {
    gunzip(data, { maxOutputLength: limit }, (err) => {
      if (err === null) return resolve({ ok: true });
      const code = (err as NodeJS.ErrnoException).code;
      resolve({
        ok: false,
        why:
          code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError
            ? `expands beyond the limit of ${limit} bytes`
            : `is not a valid gzip (${err.message.slice(0, 80)})`,
      });
    });
  });
}
