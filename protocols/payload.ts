/**
 * What every decoder of a wire payload checks before its schema: the kind's size limit, JSON, the schema version (and
 * the depth: validation.ts `refuseTooDeep`); and what every encoder checks after serialising: the size. Shared by
 * messages.ts (zod, the hub) and wire.ts (compiled checks, the agent), so both refuse the same payloads with the same
 * errors.
 */
import { AppError, ErrorCode } from './errors.ts';
import type { TopicKind } from './topics.ts';
import { MAX_BYTES } from './wire-limits.ts';

/** The payload's JSON value. Throws AppError PAYLOAD_TOO_LARGE | JSON_INVALID | SCHEMA_VERSION. */
export function readPayload(kind: TopicKind, payload: Buffer | string): unknown {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const limit = MAX_BYTES[kind];
  if (size > limit) {
    throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `${kind}: expected at most ${limit} bytes, got ${size}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch (err) {
    throw new AppError(ErrorCode.JSON_INVALID, `${kind}: expected JSON, got ${(err as Error).message}`, { cause: err });
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'v' in value && value.v !== 1) {
    throw new AppError(
      ErrorCode.SCHEMA_VERSION,
      `${kind}.v: expected schema version 1, got ${JSON.stringify(value.v)}`,
    );
  }
  return value;
}

/** The serialised message, within the kind's size limit (PAYLOAD_TOO_LARGE otherwise). */
export function serialiseWithin(kind: TopicKind, message: unknown): string {
  const text = JSON.stringify(message);
  if (Buffer.byteLength(text) > MAX_BYTES[kind]) {
    throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `${kind}: encoded message exceeds ${MAX_BYTES[kind]} bytes`);
  }
  return text;
}
