/**
 * Contract expiry warnings (SLA-2: 1-3 years, extendable to a 4th and 5th year). The registry owns contracts;
 * the hub config lists their numbers. Dates are local dates in the hub calendar's zone.
 */
import { DateTime } from 'luxon';
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import type { HubConfig } from '../config.ts';
import type { DeviceRegistry } from '../context.ts';

export interface ExpiringContract {
  number: string;
  customer: string;
  start: string;
  /** Last covered local date (inclusive). */
  end: string;
  daysLeft: number;
  serials: string[];
}

const DAY_MS = 24 * 3_600_000;

/** Contracts whose last covered day is within [today, today + days], soonest first. */
export function expiringContracts(
  config: Readonly<HubConfig>,
  registry: DeviceRegistry | undefined,
  nowMs: number,
  days: number,
): ExpiringContract[] {
  const zone = config.calendar.timeZone;
  const today = DateTime.fromMillis(nowMs, { zone }).startOf('day');
  // The registry knows every contract (config and API-added); without it, compute from the config.
  const contracts =
    registry?.listContracts?.(nowMs) ??
    config.contracts.map((c) => ({
      number: c.number,
      customer: c.customer,
      start: c.start,
      end: DateTime.fromISO(c.start, { zone })
        .plus({ years: c.termYears + c.extensionYears })
        .minus({ days: 1 })
        .toISODate()!,
      serials: c.serials,
    }));
  const out: ExpiringContract[] = [];
  for (const c of contracts) {
    const daysLeft = Math.round(DateTime.fromISO(c.end, { zone }).startOf('day').diff(today, 'days').days);
    if (daysLeft < 0 || daysLeft > days) continue;
    out.push({ number: c.number, customer: c.customer, start: c.start, end: c.end, daysLeft, serials: [...c.serials] });
  }
  return out.sort((a, b) => a.daysLeft - b.daysLeft || a.number.localeCompare(b.number));
}

/** Daily check: one warning log line per contract ending within `days`. Returns a stop function. */
export function scheduleExpiryCheck(deps: {
  config: Readonly<HubConfig>;
  registry: () => DeviceRegistry | undefined;
  clock: Clock;
  logger: Logger;
  days: number;
  onExpiring?: (contracts: ExpiringContract[]) => void;
}): () => void {
  let cancel: (() => void) | undefined;
  const run = () => {
    try {
      const list = expiringContracts(deps.config, deps.registry(), deps.clock.now(), deps.days);
      for (const c of list) {
        deps.logger.warn(
          { contract: c.number, customer: c.customer, end: c.end, daysLeft: c.daysLeft },
          'service contract expiring',
        );
      }
      deps.onExpiring?.(list);
    } catch (err) {
      deps.logger.error({ err }, 'contract expiry check failed');
    }
    cancel = deps.clock.setTimer(DAY_MS, run);
  };
  run();
  return () => cancel?.();
}
