/** Whether an automatic reboot is allowed now, and if not, why (pure). */
import type { RebootPolicy, RemoteRebootConfig } from './reboot-config.ts';

export type RebootDecision = { ok: true; why: string } | { ok: false; why: string };

/** Local HH:MM of `atMs` in `timezone`. */
export function localTime(atMs: number, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(atMs));
  const h = parts.find((p) => p.type === 'hour')?.value ?? '00';
  const m = parts.find((p) => p.type === 'minute')?.value ?? '00';
  return `${h}:${m}`;
}

function inWindow(hhmm: string, from: string, to: string): boolean {
  return from <= to ? hhmm >= from && hhmm < to : hhmm >= from || hhmm < to;
}

export function decideAutoReboot(input: {
  cfg: Readonly<RemoteRebootConfig>;
  customer: string | undefined;
  atMs: number;
  inCall: boolean;
  lastAutoRebootMs: number | undefined;
}): RebootDecision {
  const { cfg } = input;
  const policy: RebootPolicy | undefined = cfg.policies.find((p) => p.customer === input.customer);
  if (!policy) {
    return {
      ok: false,
      why: `the policy of customer ${input.customer ?? '(unknown)'} does not allow automatic reboots`,
    };
  }
  const now = localTime(input.atMs, cfg.timezone);
  const hours = `${policy.allowedFrom}-${policy.allowedTo} ${cfg.timezone}`;
  if (!inWindow(now, policy.allowedFrom, policy.allowedTo)) {
    return { ok: false, why: `${now} is outside the allowed hours ${hours}` };
  }
  if (input.inCall) return { ok: false, why: 'the device is in a call' };
  if (input.lastAutoRebootMs !== undefined && input.atMs - input.lastAutoRebootMs < cfg.minIntervalMs) {
    return {
      ok: false,
      why: `the last automatic reboot was at ${new Date(input.lastAutoRebootMs).toISOString()} (at most one per ${
        cfg.minIntervalMs / 3_600_000
      } h)`,
    };
  }
  return {
    ok: true,
    why: `${now} is within ${hours}, no call, no automatic reboot in the last ${cfg.minIntervalMs / 3_600_000} h`,
  };
}
