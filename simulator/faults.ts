/**
 * Fault kinds of interfaces.md, the request body schema, and the per-device book of active faults.
 * Faults with `durationMs` clear by themselves on the injected clock.
 */
import { z } from 'zod';
import type { Clock } from '../protocols/clock.ts';
import { describeIssues } from '../protocols/validation.ts';

export const FAULT_KINDS = [
  'power-off',
  'network-loss',
  'camera-disconnected',
  'mic-missing',
  'reboot',
  'slow',
  'garbage',
  'high-temperature',
  /** The web service hangs: TCP and TLS accept, HTTP never answers (SNMP and SSH still do); a reboot ends it. */
  'rest-hung',
] as const;
export const FaultKind = z.enum(FAULT_KINDS);
export type FaultKind = z.infer<typeof FaultKind>;

export const FaultSpec = z
  .strictObject({
    kind: FaultKind,
    durationMs: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3_600_000)
      .optional(),
    value: z.number().finite().optional(),
  })
  .superRefine((spec, ctx) => {
    const v = spec.value;
    if (spec.kind === 'network-loss' && v !== undefined && (v < 0 || v > 1)) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: 'expected a loss fraction 0..1 for network-loss',
        input: v,
      });
    }
    if (spec.kind === 'slow' && v !== undefined && (v < 0 || v > 600_000)) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: 'expected added milliseconds 0..600000 for slow',
        input: v,
      });
    }
    if (spec.kind === 'high-temperature' && v !== undefined && (v < -50 || v > 200)) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'expected degrees Celsius -50..200', input: v });
    }
  });
export type FaultSpec = z.infer<typeof FaultSpec>;

/** Defaults for `value` when a fault is injected without one. */
export const FAULT_DEFAULT_VALUE: Partial<Record<FaultKind, number>> = {
  'network-loss': 1,
  slow: 2000,
  'high-temperature': 85,
};

/** Parse a fault request body: the spec, or one line naming the field and the problem. */
export function parseFaultSpec(body: unknown): { ok: true; spec: FaultSpec } | { ok: false; error: string } {
  const result = FaultSpec.safeParse(body, { reportInput: true });
  if (result.success) return { ok: true, spec: result.data };
  return { ok: false, error: describeIssues(result.error.issues).join('; ') };
}

export interface ActiveFault {
  kind: FaultKind;
  value?: number;
  startedAt: number;
  endsAt?: number;
}

/** What /sim/devices shows for each active fault. */
export interface FaultInfo {
  kind: FaultKind;
  value?: number;
  startedAt: string;
  endsAt?: string;
}

export type FaultListener = (fault: ActiveFault, phase: 'start' | 'end') => void;

/** Active faults of one device. One fault per kind: injecting a kind again replaces it (end, then start). */
export class FaultBook {
  private readonly active = new Map<FaultKind, { fault: ActiveFault; cancel?: () => void }>();

  constructor(
    private readonly clock: Clock,
    private readonly listener: FaultListener,
  ) {}

  inject(spec: FaultSpec): ActiveFault {
    this.clear(spec.kind);
    const now = this.clock.now();
    const value = spec.value ?? FAULT_DEFAULT_VALUE[spec.kind];
    const fault: ActiveFault = { kind: spec.kind, startedAt: now };
    if (value !== undefined) fault.value = value;
    const entry: { fault: ActiveFault; cancel?: () => void } = { fault };
    if (spec.durationMs !== undefined) {
      fault.endsAt = now + spec.durationMs;
      entry.cancel = this.clock.setTimer(spec.durationMs, () => {
        if (this.active.get(spec.kind) === entry) this.clear(spec.kind);
      });
    }
    this.active.set(spec.kind, entry);
    this.listener(fault, 'start');
    return fault;
  }

  /** End one kind, or every fault when no kind is given. */
  clear(kind?: FaultKind): void {
    const kinds = kind === undefined ? [...this.active.keys()] : [kind];
    for (const k of kinds) {
      const entry = this.active.get(k);
      if (entry === undefined) continue;
      entry.cancel?.();
      this.active.delete(k);
      this.listener(entry.fault, 'end');
    }
  }

  has(kind: FaultKind): boolean {
    return this.active.has(kind);
  }

  value(kind: FaultKind): number | undefined {
    return this.active.get(kind)?.fault.value;
  }

  list(): FaultInfo[] {
    return [...this.active.values()].map(({ fault }) => {
      const info: FaultInfo = { kind: fault.kind, startedAt: new Date(fault.startedAt).toISOString() };
      if (fault.value !== undefined) info.value = fault.value;
      if (fault.endsAt !== undefined) info.endsAt = new Date(fault.endsAt).toISOString();
      return info;
    });
  }
}
