/**
 * `hezo sla deadlines --priority P1|P2|P3 --opened ISO [--acknowledged ISO] [--accepted ISO] [--delivered ISO]`
 * Prints one JSON object with the deadlines as UTC instants, computed by the same code the hub runs
 * (sla-clocks.ts over the default business calendar). An ISO time without an offset is read as local time of
 * the calendar's zone (Europe/Warsaw by default).
 */
import { DateTime } from 'luxon';
import { parseFlags, requireFlag } from '../../protocols/cli-flags.ts';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { BusinessCalendar } from '../calendar/business-calendar.ts';
import { BusinessCalendarConfig } from '../config.ts';
import type { Priority } from '../types.ts';
import { computeDeadlines } from './sla-clocks.ts';

const COMMAND = 'sla deadlines';
const PRIORITIES: readonly Priority[] = ['P1', 'P2', 'P3'];

const FLAGS = {
  priority: { type: 'string' },
  opened: { type: 'string' },
  acknowledged: { type: 'string' },
  accepted: { type: 'string' },
  delivered: { type: 'string' },
} as const;

function parseInstant(flag: string, value: string, timeZone: string): number {
  const dt = DateTime.fromISO(value, { zone: timeZone });
  if (!dt.isValid) {
    throw new AppError(ErrorCode.USAGE, `hezo ${COMMAND}: --${flag}: expected an ISO 8601 date-time, got "${value}"`);
  }
  return dt.toMillis();
}

function optionalInstant(flag: string, value: string | undefined, timeZone: string): number | undefined {
  if (value === undefined) return undefined;
  return parseInstant(flag, requireFlag(COMMAND, flag, value), timeZone);
}

function requireNotBefore(flag: string, ms: number | undefined, otherFlag: string, otherMs: number | undefined): void {
  if (ms !== undefined && otherMs !== undefined && ms < otherMs) {
    throw new AppError(ErrorCode.USAGE, `hezo ${COMMAND}: --${flag}: must not be before --${otherFlag}`);
  }
}

export async function runSla(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'deadlines') {
    throw new AppError(ErrorCode.USAGE, `hezo sla: expected the subcommand "deadlines", got "${sub ?? ''}"`);
  }
  const { values, positionals } = parseFlags(COMMAND, rest, FLAGS);
  if (positionals.length > 0) {
    throw new AppError(ErrorCode.USAGE, `hezo ${COMMAND}: unexpected argument "${positionals[0]}"`);
  }
  const priority = requireFlag(COMMAND, 'priority', values.priority);
  if (!PRIORITIES.includes(priority as Priority)) {
    throw new AppError(ErrorCode.USAGE, `hezo ${COMMAND}: --priority: expected P1, P2 or P3, got "${priority}"`);
  }
  const cal = new BusinessCalendar(BusinessCalendarConfig.parse({}));
  const tz = cal.timeZone;
  const openedMs = parseInstant('opened', requireFlag(COMMAND, 'opened', values.opened), tz);
  const acknowledgedMs = optionalInstant('acknowledged', values.acknowledged, tz);
  const acceptedMs = optionalInstant('accepted', values.accepted, tz);
  const deliveredMs = optionalInstant('delivered', values.delivered, tz);
  requireNotBefore('acknowledged', acknowledgedMs, 'opened', openedMs);
  requireNotBefore('accepted', acceptedMs, 'opened', openedMs);
  requireNotBefore('delivered', deliveredMs, 'accepted', acceptedMs ?? openedMs);

  const deadlines = computeDeadlines(
    {
      priority: priority as Priority,
      openedMs,
      ...(acknowledgedMs === undefined ? {} : { acknowledgedMs }),
      ...(acceptedMs === undefined ? {} : { acceptedMs }),
      ...(deliveredMs === undefined ? {} : { deliveredMs }),
    },
    cal,
  );
  const iso = (ms: number) => new Date(ms).toISOString();
  const out: Record<string, string | null> = {
    clockStart: iso(deadlines.clockStart),
    reactionDue: iso(deadlines.reactionDue),
  };
  if (deadlines.nextUpdateDue !== undefined) out.nextUpdateDue = iso(deadlines.nextUpdateDue);
  if (deadlines.deliveryDue !== undefined) {
    out.deliveryDue = deadlines.deliveryDue === null ? null : iso(deadlines.deliveryDue);
  }
  if (deadlines.returnDue !== undefined) out.returnDue = iso(deadlines.returnDue);
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return 0;
}
