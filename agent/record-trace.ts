/**
 * The agent's recent records per device (the last `length` polls), for `diagnose` and evidence ("what did the agent
 * see"). Memory: only the newest record of a device keeps its evidence (the bulk of a record); older ones keep the
 * rest, sharing the identity and components objects with the record before them when those did not change.
 */
import type { HealthRecord } from '../protocols/health.ts';

export class RecordTrace {
  private readonly length: number;
  private readonly bySerial = new Map<string, HealthRecord[]>();

  constructor(length: number) {
    this.length = length;
  }

  push(record: HealthRecord): void {
    const list = this.bySerial.get(record.identity.serial) ?? [];
    const previous = list.at(-1);
    if (previous) list[list.length - 1] = traceEntry(previous, list.at(-2));
    list.push(record);
    if (list.length > this.length) list.shift();
    this.bySerial.set(record.identity.serial, list);
  }

  /** Oldest first; only the newest keeps its evidence. */
  of(serial: string): readonly HealthRecord[] {
    return this.bySerial.get(serial) ?? [];
  }
}

/** Equal as JSON values (records are plain data): compared in place, no string built per record. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) {
      return false;
    }
  }
  return true;
}

/**
 * `record` as the trace keeps it once a newer one exists (a trace of 50 polls x N devices): without its evidence,
 * with the identity and components of `older` when they are equal. One copy.
 */
function traceEntry(record: HealthRecord, older: HealthRecord | undefined): HealthRecord {
  const identity = older && sameJson(record.identity, older.identity) ? older.identity : record.identity;
  const components = older && sameJson(record.components, older.components) ? older.components : record.components;
  return { ...record, identity, components, evidence: [] };
}
