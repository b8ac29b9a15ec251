/**
 * Decompression with an output limit, for archives that come from outside (device logs, evidence):
 * a 250 KB gzip can hold 250 MB. zlib stops at `maxBytes` (memory stays bounded) and the work runs on the
 * libuv thread pool, not the event loop. Nested gzip (gzip of a gzip) is unpacked too, within the same limit,
 * up to MAX_LAYERS deep; deeper nesting is refused.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { AppError, ErrorCode } from './errors.ts';

const gunzipAsync = promisify(gunzip);
const MAX_LAYERS = 3;

export function isGzipped(data: Buffer): boolean {
  return data.length > 2 && data[0] === 0x1f && data[1] === 0x8b;
}

export class UnpackLimitError extends AppError {
  readonly limitBytes: number;
  constructor(what: string, limitBytes: number, setting: string) {
    super(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `${what}: the archive unpacks to more than ${limitBytes} bytes (${setting}); refused, nothing kept`,
    );
    this.limitBytes = limitBytes;
  }
}

/**
 * `data` unpacked (or as is when not gzipped). Rejects with UnpackLimitError beyond `maxBytes`, and with
 * PAYLOAD_INVALID when the gzip stream is corrupt or nested too deep. `setting` names the config field.
 */
export async function gunzipBounded(data: Buffer, maxBytes: number, what: string, setting: string): Promise<Buffer> {
  let plain = data;
  for (let layer = 0; isGzipped(plain); layer++) {
    if (layer >= MAX_LAYERS) {
      throw new AppError(ErrorCode.PAYLOAD_INVALID, `${what}: gzip nested more than ${MAX_LAYERS} deep; refused`);
    }
    try {
      plain = await gunzipAsync(plain, { maxOutputLength: maxBytes });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError)
        throw new UnpackLimitError(what, maxBytes, setting);
      throw new AppError(ErrorCode.PAYLOAD_INVALID, `${what}: corrupt gzip (${(err as Error).message})`, {
        cause: err,
      });
    }
  }
  return plain;
}
