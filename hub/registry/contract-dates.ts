/**
 * SLA-2 date arithmetic on local dates (`YYYY-MM-DD`): a contract starting on S with a term of T years and
 * E extension years covers S .. S + (T + E) years - 1 day, inclusive.
 */

/** Add whole years to a local date; 29 Feb lands on 28 Feb in a non-leap year. */
export function addYears(date: string, years: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const year = y + years;
  const lastDay = new Date(Date.UTC(year, m, 0)).getUTCDate();
  return formatDate(year, m, Math.min(d, lastDay));
}

export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return formatDate(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}

function formatDate(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Last covered day (inclusive). */
export function contractEnd(start: string, termYears: number, extensionYears: number): string {
  return addDays(addYears(start, termYears + extensionYears), -1);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The local date of an instant in a time zone (`YYYY-MM-DD`). */
export function localDate(atMs: number, timeZone: string): string {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, formatter);
  }
  return formatter.format(atMs);
}

export function isActiveOn(date: string, start: string, end: string): boolean {
  return start <= date && date <= end;
}
