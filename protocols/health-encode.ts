/**
 * `encodeMessage('health', record)` with the compiled check (health-check.ts): a record it rejects goes through
 * `encodeMessage` (zod) for the exact error. In the agent's bundle the check is build-time generated code instead
 * of the ajv compiler.
 */
import { AppError, ErrorCode } from './errors.ts';
import type { HealthRecord } from './health.ts';
import { healthCheck } from './health-check.ts';
import { encodeMessage, MAX_BYTES } from './messages.ts';

export function encodeHealth(record: HealthRecord): string {
  if (!healthCheck(record)) return encodeMessage('health', record);
  const text = JSON.stringify(record);
  if (Buffer.byteLength(text) > MAX_BYTES.health) {
    throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `health: encoded message exceeds ${MAX_BYTES.health} bytes`);
  }
  return text;
}
