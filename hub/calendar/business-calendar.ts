/**
 * The 8x5 business calendar (SLA-9, SLA-10): working days and hours in one time zone, minus the statutory
 * public holidays of a country (computed for any year with `date-holidays`, type `public` only) and extra
 * closed days. Business hours of a business day are the half-open interval [opens, closes) local time.
 *
 * Instants are epoch milliseconds; local dates are `YYYY-MM-DD` strings in the calendar's time zone.
 * Wall-clock conversion goes through luxon, so DST changes (Europe/Warsaw: last Sunday of March 02:00->03:00,
 * last Sunday of October 03:00->02:00) are handled by the zone database, never by fixed offsets.
 */
import Holidays from 'date-holidays';
import { DateTime } from 'luxon';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { BusinessCalendarConfig } from '../config.ts';

/** A calendar with no business day within this many days is refused (it would make every clock infinite). */
const MAX_SCAN_DAYS = 3700;

export interface BusinessWindow {
  /** Local date of the business day. */
  date: string;
  /** Epoch ms of the opening (inclusive). */
  openMs: number;
  /** Epoch ms of the close (exclusive for "is business", but a deadline may land on it). */
  closeMs: number;
}

function parseHhMm(field: string, value: string): { hour: number; minute: number } {
  const match = /^(\d{2}):(\d{2})$/.exec(value);
  const hour = Number(match?.[1]);
  const minute = Number(match?.[2]);
  if (!match || hour > 24 || minute > 59 || (hour === 24 && minute !== 0)) {
    throw new AppError(ErrorCode.CONFIG_INVALID, `calendar.${field}: expected HH:MM, got "${value}"`);
  }
  return { hour, minute };
}

export class BusinessCalendar {
  readonly timeZone: string;
  private readonly opens: { hour: number; minute: number };
  private readonly closes: { hour: number; minute: number };
  private readonly workingDays: ReadonlySet<number>;
  private readonly closedDays: ReadonlySet<string>;
  private readonly holidays: Holidays | undefined;
  private readonly holidaysByYear = new Map<number, ReadonlySet<string>>();
  /** Memo of isBusinessDay and window per local date (clock arithmetic asks for the same days again and again). */
  private readonly dayCache = new Map<string, { isBusiness: boolean; window: BusinessWindow }>();

  constructor(config: BusinessCalendarConfig) {
    if (!DateTime.local().setZone(config.timeZone).isValid) {
      throw new AppError(ErrorCode.CONFIG_INVALID, `calendar.timeZone: unknown IANA time zone "${config.timeZone}"`);
    }
    this.timeZone = config.timeZone;
    this.opens = parseHhMm('opens', config.opens);
    this.closes = parseHhMm('closes', config.closes);
    if (this.opens.hour * 60 + this.opens.minute >= this.closes.hour * 60 + this.closes.minute) {
      throw new AppError(
        ErrorCode.CONFIG_INVALID,
        `calendar.closes: expected a time after opens (${config.opens}), got "${config.closes}"`,
      );
    }
    if (config.workingDays.length === 0) {
      throw new AppError(ErrorCode.CONFIG_INVALID, 'calendar.workingDays: expected at least one working day, got []');
    }
    this.workingDays = new Set(config.workingDays);
    this.closedDays = new Set(config.closedDays);
    if (config.holidaysCountry !== '') {
      const holidays = new Holidays();
      if (!Object.hasOwn(holidays.getCountries(), config.holidaysCountry.toUpperCase())) {
        throw new AppError(
          ErrorCode.CONFIG_INVALID,
          `calendar.holidaysCountry: unknown country code "${config.holidaysCountry}"`,
        );
      }
      holidays.init(config.holidaysCountry.toUpperCase());
      this.holidays = holidays;
    }
  }

  /** Statutory public holidays (local dates) of one year. */
  publicHolidays(year: number): ReadonlySet<string> {
    let set = this.holidaysByYear.get(year);
    if (set === undefined) {
      const list = this.holidays?.getHolidays(year) ?? [];
      set = new Set(list.filter((h) => h.type === 'public').map((h) => h.date.slice(0, 10)));
      this.holidaysByYear.set(year, set);
    }
    return set;
  }

  /** SLA-10: a working weekday that is neither a public holiday nor an extra closed day. */
  isBusinessDay(localDate: string): boolean {
    return this.day(localDate).isBusiness;
  }

  private day(localDate: string): { isBusiness: boolean; window: BusinessWindow } {
    let entry = this.dayCache.get(localDate);
    if (entry === undefined) {
      const day = DateTime.fromISO(localDate, { zone: 'UTC' });
      if (!day.isValid || !/^\d{4}-\d{2}-\d{2}$/.test(localDate)) {
        throw new AppError(ErrorCode.USAGE, `expected a local date YYYY-MM-DD, got "${localDate}"`);
      }
      const isBusiness =
        this.workingDays.has(day.weekday) &&
        !this.closedDays.has(localDate) &&
        !this.publicHolidays(day.year).has(localDate);
      entry = { isBusiness, window: this.computeWindow(localDate) };
      if (this.dayCache.size > 20_000) this.dayCache.clear();
      this.dayCache.set(localDate, entry);
    }
    return entry;
  }

  /** The first business day strictly after `localDate`. */
  nextBusinessDay(localDate: string): string {
    let day = DateTime.fromISO(localDate, { zone: 'UTC' });
    if (!day.isValid) throw new AppError(ErrorCode.USAGE, `expected a local date YYYY-MM-DD, got "${localDate}"`);
    for (let i = 0; i < MAX_SCAN_DAYS; i++) {
      day = day.plus({ days: 1 });
      const iso = day.toISODate()!;
      if (this.isBusinessDay(iso)) return iso;
    }
    throw new AppError(
      ErrorCode.CONFIG_INVALID,
      `calendar: no business day within ${MAX_SCAN_DAYS} days of ${localDate}`,
    );
  }

  /** The local date of an instant in the calendar's zone. */
  localDate(ms: number): string {
    return DateTime.fromMillis(ms, { zone: this.timeZone }).toISODate()!;
  }

  /** The business window of a local date (whether or not it is a business day). */
  window(localDate: string): BusinessWindow {
    return this.day(localDate).window;
  }

  private computeWindow(localDate: string): BusinessWindow {
    const day = DateTime.fromISO(localDate, { zone: this.timeZone });
    const openMs = day.set({ hour: this.opens.hour, minute: this.opens.minute }).toMillis();
    const closeMs =
      this.closes.hour === 24
        ? day.plus({ days: 1 }).startOf('day').toMillis()
        : day.set({ hour: this.closes.hour, minute: this.closes.minute }).toMillis();
    return { date: localDate, openMs, closeMs };
  }

  /** SLA-10: inside [opens, closes) of a business day. */
  isBusinessInstant(ms: number): boolean {
    const date = this.localDate(ms);
    if (!this.isBusinessDay(date)) return false;
    const w = this.window(date);
    return ms >= w.openMs && ms < w.closeMs;
  }

  /** The business window containing `ms`, or else the first one starting after it. */
  windowAtOrAfter(ms: number): BusinessWindow {
    const date = this.localDate(ms);
    if (this.isBusinessDay(date)) {
      const w = this.window(date);
      if (ms < w.closeMs) return w;
    }
    return this.window(this.nextBusinessDay(date));
  }

  /** The first business instant at or after `ms` (clock start of P2/P3, SLA-5). */
  nextBusinessInstant(ms: number): number {
    const w = this.windowAtOrAfter(ms);
    return Math.max(ms, w.openMs);
  }

  /**
   * `ms` plus `durationMs` of business time, carrying what does not fit into a day over to the next
   * business day. A deadline may land exactly at the close (it does not roll over to the next opening).
   * A zero duration returns `ms` unchanged.
   */
  addBusinessTime(ms: number, durationMs: number): number {
    if (!Number.isFinite(durationMs) || durationMs < 0) {
      throw new AppError(ErrorCode.USAGE, `business duration: expected a non-negative number of ms, got ${durationMs}`);
    }
    if (durationMs === 0) return ms;
    let remaining = durationMs;
    let cursor = ms;
    for (let i = 0; i < MAX_SCAN_DAYS * 2; i++) {
      const w = this.windowAtOrAfter(cursor);
      const from = Math.max(cursor, w.openMs);
      const available = w.closeMs - from;
      if (remaining <= available) return from + remaining;
      remaining -= available;
      cursor = w.closeMs;
    }
    throw new AppError(ErrorCode.USAGE, `business duration too long: ${durationMs} ms`);
  }

  /** Business time inside [a, b); 0 when b <= a. */
  businessTimeBetween(a: number, b: number): number {
    let total = 0;
    let cursor = a;
    while (cursor < b) {
      const w = this.windowAtOrAfter(cursor);
      const from = Math.max(cursor, w.openMs);
      if (from >= b) break;
      total += Math.min(b, w.closeMs) - from;
      cursor = w.closeMs;
    }
    return total;
  }
}

/** One calendar per distinct config (the customer's override, or the hub default). */
export function createCalendarResolver(
  defaults: BusinessCalendarConfig,
  overrides: ReadonlyMap<string, BusinessCalendarConfig> = new Map(),
): (customer: string | null | undefined) => BusinessCalendar {
  const base = new BusinessCalendar(defaults);
  const cache = new Map<string, BusinessCalendar>();
  for (const [customer, config] of overrides) cache.set(customer, new BusinessCalendar(config));
  return (customer) => (customer == null ? base : (cache.get(customer) ?? base));
}
