/**
 * `encodeChecked('health', record)` on the agent's publish path with the one-function check (health-check.ts: in the
 * agent's bundle build-time generated code): a record it rejects goes through the compiled checks
 * (compiled-checks.ts) for the fields to name.
 */
import type { HealthRecord } from './health.ts';
import { healthCheck } from './health-check.ts';
import { serialiseWithin } from './payload.ts';
import { encodeChecked } from './wire.ts';

export function encodeHealth(record: HealthRecord): string {
  if (!healthCheck(record)) return encodeChecked('health', record);
  return serialiseWithin('health', record);
}
