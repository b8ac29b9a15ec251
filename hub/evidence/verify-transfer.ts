/**
 * What of a whole transfer may be stored: its bytes must match the announced sha256 (CHECKSUM_MISMATCH), a
 * compressed archive must not expand beyond `attachments.maxDecompressedBytes` (ARCHIVE_REFUSED, bounded inflate),
 * the text must parse for redaction (REDACTION_FAILED), and the redacted bytes must fit `maxBytesPerAttachment`.
 * Returns the redacted bytes to store, or the note for the ticket and the log line saying why not.
 */
import { readFile } from 'node:fs/promises';
import { ErrorCode } from '../../protocols/errors.ts';
import type { HubConfig } from '../config.ts';
import { checkInflatedSize } from './bounded-inflate.ts';
import { sha256OfFile } from './chunk-map.ts';
import { redactAttachment } from './redaction.ts';
import type { TransferRow } from './store.ts';

export type Verified =
  | { ok: true; stored: Buffer }
  | { ok: false; reason: string; log?: { message: string; fields: Record<string, unknown> } };

export async function verifyTransfer(
  temp: string,
  row: Pick<TransferRow, 'name' | 'serial' | 'transferId' | 'sha256'>,
  deps: { limits: Readonly<HubConfig['attachments']>; knownSecrets: readonly string[] },
): Promise<Verified> {
  const actual = await sha256OfFile(temp);
  if (actual !== row.sha256) {
    return {
      ok: false,
      reason: `${ErrorCode.CHECKSUM_MISMATCH}: ${row.name} from ${row.serial} (transfer ${row.transferId}): expected sha256 ${row.sha256}, got ${actual}; the file was discarded`,
      log: { message: 'attachment checksum mismatch: discarded', fields: {} },
    };
  }
  const raw = await readFile(temp);
  const inflated = await checkInflatedSize(raw, deps.limits.maxDecompressedBytes);
  if (!inflated.ok) {
    return {
      ok: false,
      reason: `ARCHIVE_REFUSED: ${row.name} from ${row.serial} ${inflated.why} (attachments.maxDecompressedBytes); refused, not stored`,
      log: { message: 'compressed attachment refused: not stored', fields: { why: inflated.why } },
    };
  }
  let stored: Buffer;
  try {
    stored = await redactAttachment(raw, deps.knownSecrets);
  } catch (err) {
    return {
      ok: false,
      reason: `REDACTION_FAILED: ${row.name} could not be parsed for redaction; not stored`,
      log: {
        message: 'attachment could not be redacted: not stored',
        fields: { err: { message: (err as Error).message } },
      },
    };
  }
  const limit = deps.limits.maxBytesPerAttachment;
  if (stored.length > limit) {
    return {
      ok: false,
      reason: `${ErrorCode.ATTACHMENT_TOO_LARGE}: ${row.name} is ${stored.length} bytes, limit ${limit}`,
    };
  }
  return { ok: true, stored };
}
