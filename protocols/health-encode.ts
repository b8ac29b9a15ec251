/**
 * `encodeChecked('health', record)` on the agent's publish path: a record that passes its compiled check
 * (compiled-checks.ts: in the agent's bundle, build-time generated code) is serialised at once; one it rejects goes
 * through `encodeChecked` for the error (depth, then the fields named).
 */
import { checkValue } from './compiled-checks.ts';
import type { HealthRecord } from './health.ts';
import { serialiseWithin } from './payload.ts';
import { encodeChecked } from './wire.ts';

export function encodeHealth(record: HealthRecord): string {
  if (checkValue('health', record) !== undefined) return encodeChecked('health', record);
  return serialiseWithin('health', record);
}
