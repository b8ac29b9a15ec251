/**
 * The agent's side of the wire contract without the zod runtime: `decodeChecked` / `encodeChecked` refuse exactly
 * what messages.ts's `decodeMessage` / `encodeMessage` refuse (same checks before the schema, payload.ts; the
 * schema through its compiled check, compiled-checks.ts), with the same error codes and the fields named.
 */
import { checkValue } from './compiled-checks.ts';
import { AppError, ErrorCode } from './errors.ts';
import type { MessageOf } from './messages.ts';
import { readPayload, serialiseWithin } from './payload.ts';
import type { TopicKind } from './topics.ts';
import { refuseTooDeep } from './validation.ts';

function checkOrThrow(kind: TopicKind, value: unknown): void {
  refuseTooDeep(value, ErrorCode.PAYLOAD_INVALID, kind);
  const issues = checkValue(kind, value);
  if (issues !== undefined) {
    throw new AppError(ErrorCode.PAYLOAD_INVALID, `${kind}: ${issues.join('; ')}`, { details: issues });
  }
}

/** Decode one payload: size, JSON, schema version, then the compiled check. Throws AppError as decodeMessage. */
export function decodeChecked<K extends TopicKind>(kind: K, payload: Buffer | string): MessageOf<K> {
  const value = readPayload(kind, payload);
  checkOrThrow(kind, value);
  return value as MessageOf<K>;
}

/** Check then serialise: the agent never sends a payload the hub would reject. */
export function encodeChecked<K extends TopicKind>(kind: K, message: MessageOf<K>): string {
  checkOrThrow(kind, message);
  return serialiseWithin(kind, message);
}
