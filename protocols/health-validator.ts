/**
 * The health record's compiled validator for hot paths (the hub's ingest, the agent's publish).
 * Generated once from the zod schema in health.ts, which stays the single source of truth: `z.toJSONSchema` turns
 * it into JSON Schema, ajv compiles that into one plain function (no per-record allocation of parse contexts and
 * result objects, as zod's strict parse does). zod keeps the last word: a record the compiled function rejects is
 * decoded by `decodeMessage` (zod) for the exact error message, and accepted if zod accepts it, so the compiled
 * form can only ever be stricter, never looser. test/unit/health-validator.test.ts proves both accept and reject
 * the same corpus (hand-written edge cases and fast-check generated records).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { z } from 'zod';
import { HealthRecord } from './health.ts';
import { decodeMessage, MAX_BYTES } from './messages.ts';

/**
 * JSON Schema of HealthRecord, from zod. One thing JSON Schema cannot carry over by itself: `.refine` on
 * `reachability` ("at least one channel"), written here as `minProperties: 1` (the object is strict, so its
 * keys are channels only).
 */
export function healthJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(HealthRecord, { io: 'input', unrepresentable: 'throw' }) as Record<string, unknown>;
  delete schema.$schema;
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  const reachability = properties.reachability;
  if (reachability === undefined) throw new Error('health schema: no reachability');
  reachability.minProperties = 1;
  return schema;
}

let compiled: ValidateFunction | undefined;

/**
 * The compiled check (built on first use). Same semantics as zod: string lengths in code points (ajv's default,
 * and zod's), regexes without the u flag, as zod builds them.
 */
export function healthValidator(): ValidateFunction {
  if (compiled === undefined) {
    const ajv = new Ajv({
      unicodeRegExp: false,
      validateFormats: false,
      strict: true,
      allErrors: false,
    });
    // Every string with `format` also carries zod's exact regex as `pattern`: the format keyword adds nothing.
    ajv.addFormat('date-time', true);
    compiled = ajv.compile(healthJsonSchema());
  }
  return compiled;
}

/**
 * `decodeMessage('health', payload)` with the compiled check: same errors (PAYLOAD_TOO_LARGE, JSON_INVALID,
 * SCHEMA_VERSION, PAYLOAD_INVALID with path and value), same accepted records, one JSON.parse.
 */
export function decodeHealth(payload: Buffer | string): HealthRecord {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: a text that short is within the limit without counting its bytes.
  const isWithin =
    typeof payload === 'string'
      ? payload.length * 3 <= MAX_BYTES.health || Buffer.byteLength(payload) <= MAX_BYTES.health
      : payload.length <= MAX_BYTES.health;
  if (!isWithin) return decodeMessage('health', payload);
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return decodeMessage('health', payload);
  }
  if (healthValidator()(value)) return value as HealthRecord;
  // The slow path, for bad input only: zod names the field (or, should it accept, its result stands).
  return decodeMessage('health', payload);
}
