/**
 * Business calendar and SLA clock arithmetic (sla-rules.md "Clock arithmetic", SLA-5..SLA-14).
 * Every expected value below was computed by hand; the comment says how. Warsaw is UTC+1 (CET) in winter and
 * UTC+2 (CEST) from the last Sunday of March to the last Sunday of October:
 * 2024: Mar 31 - Oct 27, 2025: Mar 30 - Oct 26, 2026: Mar 29 - Oct 25, 2027: Mar 28 - Oct 31.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BusinessCalendar } from '../../hub/calendar/business-calendar.ts';
import { BusinessCalendarConfig } from '../../hub/config.ts';
import {
  clockStart,
  deliveryDue,
  nextUpdateDue,
  reactionDue,
  returnDue,
  warningAt,
} from '../../hub/tickets/sla-clocks.ts';
import type { Priority } from '../../hub/types.ts';

const cal = new BusinessCalendar(BusinessCalendarConfig.parse({}));
const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();
const HOUR = 3_600_000;

interface ReactionCase {
  why: string;
  p: Priority;
  sent: string;
  start: string;
  due: string;
}

// clockStart + reactionDue.
const reactionCases: ReactionCase[] = [
  // SLA-6: P1 24x7, Saturday night. start = sent = 02:00Z; due = +1 h = 03:00Z.
  {
    why: 'P1 Saturday night',
    p: 'P1',
    sent: '2025-01-04T03:00:00+01:00',
    start: '2025-01-04T02:00:00Z',
    due: '2025-01-04T03:00:00Z',
  },
  // SLA-6: P1 on a weekday in hours: 10:00+01 = 09:00Z, due 10:00Z.
  {
    why: 'P1 weekday',
    p: 'P1',
    sent: '2025-01-13T10:00:00+01:00',
    start: '2025-01-13T09:00:00Z',
    due: '2025-01-13T10:00:00Z',
  },
  // SLA-6 P2 in hours: Mon 13 Jan 2025 10:00 local -> +1 business h = 11:00 local = 10:00Z.
  {
    why: 'P2 Monday 10:00',
    p: 'P2',
    sent: '2025-01-13T10:00:00+01:00',
    start: '2025-01-13T09:00:00Z',
    due: '2025-01-13T10:00:00Z',
  },
  // Clock arithmetic: P2 sent 15:00 is due 16:00 the same day (lands exactly at close, no roll-over). 16:00+01 = 15:00Z.
  {
    why: 'P2 15:00 -> 16:00 same day',
    p: 'P2',
    sent: '2025-01-14T15:00:00+01:00',
    start: '2025-01-14T14:00:00Z',
    due: '2025-01-14T15:00:00Z',
  },
  // Clock arithmetic: P3 Fri 10 Jan 14:00 -> 2 h Friday (to 16:00) + 2 h Monday 13 Jan -> Mon 10:00+01 = 09:00Z.
  {
    why: 'P3 Friday 14:00 -> Monday 10:00',
    p: 'P3',
    sent: '2025-01-10T14:00:00+01:00',
    start: '2025-01-10T13:00:00Z',
    due: '2025-01-13T09:00:00Z',
  },
  // SLA-10 [08:00, 16:00): sent exactly 08:00 Wed 15 Jan is business -> start 07:00Z, due 09:00 local = 08:00Z.
  {
    why: 'P2 exactly 08:00',
    p: 'P2',
    sent: '2025-01-15T08:00:00+01:00',
    start: '2025-01-15T07:00:00Z',
    due: '2025-01-15T08:00:00Z',
  },
  // SLA-5/SLA-10: exactly 16:00 Friday 17 Jan is outside -> start Mon 20 Jan 08:00+01 = 07:00Z, due 08:00Z.
  {
    why: 'P2 exactly 16:00 Friday',
    p: 'P2',
    sent: '2025-01-17T16:00:00+01:00',
    start: '2025-01-20T07:00:00Z',
    due: '2025-01-20T08:00:00Z',
  },
  // SLA-5: P3 sent 07:00 Thu 16 Jan -> start 08:00+01 (07:00Z), +4 h = 12:00 local = 11:00Z.
  {
    why: 'P3 before hours',
    p: 'P3',
    sent: '2025-01-16T07:00:00+01:00',
    start: '2025-01-16T07:00:00Z',
    due: '2025-01-16T11:00:00Z',
  },
  // SLA-5: 07:59:59.999 is before the opening -> start 08:00 (07:00Z), P2 due 09:00 local = 08:00Z.
  {
    why: 'P2 one ms before opening',
    p: 'P2',
    sent: '2025-01-16T07:59:59.999+01:00',
    start: '2025-01-16T07:00:00Z',
    due: '2025-01-16T08:00:00Z',
  },
  // Carry-over: P2 Thu 15:30 -> 30 min Thursday + 30 min Friday -> Fri 17 Jan 08:30+01 = 07:30Z.
  {
    why: 'P2 15:30 carries to next day',
    p: 'P2',
    sent: '2025-01-16T15:30:00+01:00',
    start: '2025-01-16T14:30:00Z',
    due: '2025-01-17T07:30:00Z',
  },
  // Carry-over: P3 Thu 13:00 -> 3 h Thursday + 1 h Friday -> Fri 09:00+01 = 08:00Z.
  {
    why: 'P3 13:00 carries 1 h',
    p: 'P3',
    sent: '2025-01-16T13:00:00+01:00',
    start: '2025-01-16T12:00:00Z',
    due: '2025-01-17T08:00:00Z',
  },
  // SLA-5: Saturday 18 Jan -> start Mon 20 Jan 08:00+01 = 07:00Z, due 08:00Z.
  {
    why: 'P2 Saturday',
    p: 'P2',
    sent: '2025-01-18T11:00:00+01:00',
    start: '2025-01-20T07:00:00Z',
    due: '2025-01-20T08:00:00Z',
  },
  // SLA-5: Sunday 19 Jan 22:00 -> the same Monday opening.
  {
    why: 'P2 Sunday night',
    p: 'P2',
    sent: '2025-01-19T22:00:00+01:00',
    start: '2025-01-20T07:00:00Z',
    due: '2025-01-20T08:00:00Z',
  },
  // SLA-9 1 Jan: P2 Tue 31 Dec 2024 15:30 -> 30 min Tuesday, Wed 1 Jan holiday -> Thu 2 Jan 08:30+01 = 07:30Z.
  {
    why: 'P2 over New Year',
    p: 'P2',
    sent: '2024-12-31T15:30:00+01:00',
    start: '2024-12-31T14:30:00Z',
    due: '2025-01-02T07:30:00Z',
  },
  // SLA-9 6 Jan (Monday in 2025): P3 Fri 3 Jan 15:00 -> 1 h Fri, Mon 6 Jan holiday, 3 h Tue 7 Jan -> 11:00+01 = 10:00Z.
  {
    why: 'P3 over Epiphany',
    p: 'P3',
    sent: '2025-01-03T15:00:00+01:00',
    start: '2025-01-03T14:00:00Z',
    due: '2025-01-07T10:00:00Z',
  },
  // SLA-9 Easter 2025 (Sun 20 Apr, Mon 21 Apr): P2 Good Friday 16:30 (after hours; Good Friday is no holiday)
  // -> Sat, Sun (Easter), Mon (Easter Monday) closed -> Tue 22 Apr 08:00+02 = 06:00Z, due 07:00Z.
  {
    why: 'P2 over Easter 2025',
    p: 'P2',
    sent: '2025-04-18T16:30:00+02:00',
    start: '2025-04-22T06:00:00Z',
    due: '2025-04-22T07:00:00Z',
  },
  // SLA-9 Easter 2026 (Sun 5 Apr, Mon 6 Apr): P3 Fri 3 Apr 13:00 -> 3 h Friday, Mon holiday, 1 h Tue 7 Apr -> 09:00+02 = 07:00Z.
  {
    why: 'P3 over Easter 2026',
    p: 'P3',
    sent: '2026-04-03T13:00:00+02:00',
    start: '2026-04-03T11:00:00Z',
    due: '2026-04-07T07:00:00Z',
  },
  // SLA-9 Easter 2027 = Sun 28 Mar = DST day; Mon 29 Mar holiday. P2 Fri 26 Mar 15:45+01 -> 15 min Friday,
  // then 45 min Tue 30 Mar (now CEST) -> 08:45+02 = 06:45Z.
  {
    why: 'P2 over Easter 2027 and DST',
    p: 'P2',
    sent: '2027-03-26T15:45:00+01:00',
    start: '2027-03-26T14:45:00Z',
    due: '2027-03-30T06:45:00Z',
  },
  // SLA-9 Easter 2024 = Sun 31 Mar = DST day; Mon 1 Apr holiday. P2 Sat 30 Mar -> Tue 2 Apr 08:00+02 = 06:00Z, due 07:00Z.
  {
    why: 'P2 over Easter 2024 and DST',
    p: 'P2',
    sent: '2024-03-30T10:00:00+01:00',
    start: '2024-04-02T06:00:00Z',
    due: '2024-04-02T07:00:00Z',
  },
  // SLA-9 1 May 2025 (Thursday): P3 Wed 30 Apr 15:00 -> 1 h Wed, Thu holiday, 3 h Fri 2 May -> 11:00+02 = 09:00Z.
  {
    why: 'P3 over 1 May',
    p: 'P3',
    sent: '2025-04-30T15:00:00+02:00',
    start: '2025-04-30T13:00:00Z',
    due: '2025-05-02T09:00:00Z',
  },
  // SLA-9 3 May 2027 (Monday): P2 Fri 30 Apr 16:00 -> Sat 1, Sun 2, Mon 3 May closed -> Tue 4 May 08:00+02 = 06:00Z.
  {
    why: 'P2 over 3 May 2027',
    p: 'P2',
    sent: '2027-04-30T16:00:00+02:00',
    start: '2027-05-04T06:00:00Z',
    due: '2027-05-04T07:00:00Z',
  },
  // SLA-9 Pentecost Sunday 8 Jun 2025 is a Sunday; Monday 9 Jun is a business day (no Whit Monday in PL).
  // P2 Sat 7 Jun -> Mon 9 Jun 08:00+02 = 06:00Z.
  {
    why: 'P2 over Pentecost 2025',
    p: 'P2',
    sent: '2025-06-07T12:00:00+02:00',
    start: '2025-06-09T06:00:00Z',
    due: '2025-06-09T07:00:00Z',
  },
  // SLA-9 Corpus Christi 2025 = Thu 19 Jun (Easter 20 Apr + 60): P3 Wed 18 Jun 14:00 -> 2 h Wed + 2 h Fri 20 Jun -> 10:00+02 = 08:00Z.
  {
    why: 'P3 over Corpus Christi 2025',
    p: 'P3',
    sent: '2025-06-18T14:00:00+02:00',
    start: '2025-06-18T12:00:00Z',
    due: '2025-06-20T08:00:00Z',
  },
  // SLA-9 Corpus Christi 2026 = Thu 4 Jun (5 Apr + 60): P2 sent on it -> Fri 5 Jun 08:00+02 = 06:00Z.
  {
    why: 'P2 on Corpus Christi 2026',
    p: 'P2',
    sent: '2026-06-04T10:00:00+02:00',
    start: '2026-06-05T06:00:00Z',
    due: '2026-06-05T07:00:00Z',
  },
  // SLA-9 15 Aug 2025 (Friday): P2 Thu 14 Aug 15:30 -> 30 min Thu, Fri holiday -> Mon 18 Aug 08:30+02 = 06:30Z.
  {
    why: 'P2 over 15 Aug',
    p: 'P2',
    sent: '2025-08-14T15:30:00+02:00',
    start: '2025-08-14T13:30:00Z',
    due: '2025-08-18T06:30:00Z',
  },
  // SLA-9 1 Nov 2024 (Friday, CET since 27 Oct): P3 Thu 31 Oct 14:00 -> 2 h Thu + 2 h Mon 4 Nov -> 10:00+01 = 09:00Z.
  {
    why: 'P3 over 1 Nov',
    p: 'P3',
    sent: '2024-10-31T14:00:00+01:00',
    start: '2024-10-31T13:00:00Z',
    due: '2024-11-04T09:00:00Z',
  },
  // SLA-9 11 Nov 2025 (Tuesday): P2 Mon 10 Nov 15:30 -> 30 min Mon + 30 min Wed 12 Nov -> 08:30+01 = 07:30Z.
  {
    why: 'P2 over 11 Nov',
    p: 'P2',
    sent: '2025-11-10T15:30:00+01:00',
    start: '2025-11-10T14:30:00Z',
    due: '2025-11-12T07:30:00Z',
  },
  // SLA-9 24 Dec from 2025: Tue 23 Dec 15:30 -> 30 min Tue; Wed 24, Thu 25, Fri 26 holidays, weekend -> Mon 29 Dec 08:30+01 = 07:30Z.
  {
    why: 'P2 over Christmas 2025 (24 Dec holiday)',
    p: 'P2',
    sent: '2025-12-23T15:30:00+01:00',
    start: '2025-12-23T14:30:00Z',
    due: '2025-12-29T07:30:00Z',
  },
  // SLA-9 24 Dec 2026 (Thursday) is a holiday: sent on it -> Fri 25 holiday, weekend -> Mon 28 Dec 08:00+01 = 07:00Z.
  {
    why: 'P2 on 24 Dec 2026',
    p: 'P2',
    sent: '2026-12-24T09:00:00+01:00',
    start: '2026-12-28T07:00:00Z',
    due: '2026-12-28T08:00:00Z',
  },
  // SLA-9 24 Dec 2024 (Tuesday) is NOT a holiday (only from 2025): business as usual, 09:00+01 = 08:00Z, due 09:00Z.
  {
    why: 'P2 on 24 Dec 2024 (working day)',
    p: 'P2',
    sent: '2024-12-24T09:00:00+01:00',
    start: '2024-12-24T08:00:00Z',
    due: '2024-12-24T09:00:00Z',
  },
  // SLA-9 25/26 Dec 2024 (Wed/Thu): P3 Tue 24 Dec 14:00 -> 2 h Tue + 2 h Fri 27 Dec -> 10:00+01 = 09:00Z.
  {
    why: 'P3 over Christmas 2024',
    p: 'P3',
    sent: '2024-12-24T14:00:00+01:00',
    start: '2024-12-24T13:00:00Z',
    due: '2024-12-27T09:00:00Z',
  },
  // SLA-6 P1 on a holiday (25 Dec 2025): 24x7, 12:00+01 = 11:00Z, due 12:00Z.
  {
    why: 'P1 on Christmas Day',
    p: 'P1',
    sent: '2025-12-25T12:00:00+01:00',
    start: '2025-12-25T11:00:00Z',
    due: '2025-12-25T12:00:00Z',
  },
  // Clock arithmetic P1 DST-safe, spring 30 Mar 2025: 01:30+01 = 00:30Z, +1 real h = 01:30Z (= 03:30+02 local).
  {
    why: 'P1 across spring DST',
    p: 'P1',
    sent: '2025-03-30T01:30:00+01:00',
    start: '2025-03-30T00:30:00Z',
    due: '2025-03-30T01:30:00Z',
  },
  // P1 DST-safe, autumn 26 Oct 2025: 02:30+02 = 00:30Z, +1 real h = 01:30Z (= 02:30+01 local, the repeated hour).
  {
    why: 'P1 across autumn DST',
    p: 'P1',
    sent: '2025-10-26T02:30:00+02:00',
    start: '2025-10-26T00:30:00Z',
    due: '2025-10-26T01:30:00Z',
  },
  // P3 across spring DST: Fri 28 Mar 14:00+01 (13:00Z) -> 2 h Fri + 2 h Mon 31 Mar -> 10:00+02 = 08:00Z.
  {
    why: 'P3 across spring DST',
    p: 'P3',
    sent: '2025-03-28T14:00:00+01:00',
    start: '2025-03-28T13:00:00Z',
    due: '2025-03-31T08:00:00Z',
  },
  // P3 across autumn DST: Fri 24 Oct 14:00+02 (12:00Z) -> 2 h Fri + 2 h Mon 27 Oct -> 10:00+01 = 09:00Z.
  {
    why: 'P3 across autumn DST',
    p: 'P3',
    sent: '2025-10-24T14:00:00+02:00',
    start: '2025-10-24T12:00:00Z',
    due: '2025-10-27T09:00:00Z',
  },
];

interface DueCase {
  why: string;
  at: string;
  due: string;
}

// nextUpdateDue after a contact at T (SLA-7).
const updateCases: (DueCase & { p: Priority })[] = [
  // P1 T+1 h elapsed: 23:10+01 = 22:10Z -> 23:10Z.
  { why: 'P1 update at night', p: 'P1', at: '2025-01-13T23:10:00+01:00', due: '2025-01-13T23:10:00Z' },
  // P2 T+2 business h: Mon 15:00 -> 1 h Mon + 1 h Tue -> Tue 09:00+01 = 08:00Z.
  { why: 'P2 update carries over', p: 'P2', at: '2025-01-13T15:00:00+01:00', due: '2025-01-14T08:00:00Z' },
  // P2 contact after hours Mon 18:00 -> counting starts Tue 08:00 -> 10:00+01 = 09:00Z.
  { why: 'P2 update after hours', p: 'P2', at: '2025-01-13T18:00:00+01:00', due: '2025-01-14T09:00:00Z' },
  // P3 T+4 business h: Thu 12:00 -> 16:00 same day exactly (close, no roll-over) = 15:00Z.
  { why: 'P3 update lands on close', p: 'P3', at: '2025-01-16T12:00:00+01:00', due: '2025-01-16T15:00:00Z' },
];

// deliveryDue after acceptance A (SLA-12): 16:00 local on the first business day after A's local date.
const deliveryCases: DueCase[] = [
  // Mon 13 Jan -> Tue 14 Jan 16:00+01 = 15:00Z.
  { why: 'accepted Monday', at: '2025-01-13T10:00:00+01:00', due: '2025-01-14T15:00:00Z' },
  // Fri 17 Jan -> Mon 20 Jan 16:00+01 = 15:00Z.
  { why: 'accepted Friday', at: '2025-01-17T10:00:00+01:00', due: '2025-01-20T15:00:00Z' },
  // Sat 18 Jan -> first business day after 18 Jan = Mon 20 Jan 16:00+01 = 15:00Z.
  { why: 'accepted Saturday', at: '2025-01-18T10:00:00+01:00', due: '2025-01-20T15:00:00Z' },
  // Wed 18 Jun 23:30 local -> Thu 19 Jun Corpus Christi -> Fri 20 Jun 16:00+02 = 14:00Z.
  { why: 'accepted before Corpus Christi', at: '2025-06-18T23:30:00+02:00', due: '2025-06-20T14:00:00Z' },
  // 13 Jan 23:30Z = 14 Jan 00:30 local: the LOCAL date is 14 Jan -> Wed 15 Jan 16:00+01 = 15:00Z.
  { why: 'local date, not UTC date', at: '2025-01-13T23:30:00Z', due: '2025-01-15T15:00:00Z' },
  // Tue 23 Dec 2025 -> 24, 25, 26 holidays, weekend -> Mon 29 Dec 16:00+01 = 15:00Z.
  { why: 'accepted before Christmas 2025', at: '2025-12-23T12:00:00+01:00', due: '2025-12-29T15:00:00Z' },
  // Fri 28 Mar 2025 -> Mon 31 Mar 16:00, now CEST -> 14:00Z.
  { why: 'delivery across spring DST', at: '2025-03-28T10:00:00+01:00', due: '2025-03-31T14:00:00Z' },
];

// returnDue after delivery D (SLA-14): D's local date + 7 days at D's local time.
const returnCases: DueCase[] = [
  // 14 Jan 11:00+01 -> 21 Jan 11:00+01 = 10:00Z.
  { why: 'plain week', at: '2025-01-14T11:00:00+01:00', due: '2025-01-21T10:00:00Z' },
  // 25 Mar 10:00+01 (09:00Z) -> 1 Apr 10:00+02 = 08:00Z (only 167 real hours).
  { why: 'across spring DST', at: '2025-03-25T10:00:00+01:00', due: '2025-04-01T08:00:00Z' },
  // 22 Oct 10:00+02 (08:00Z) -> 29 Oct 10:00+01 = 09:00Z (169 real hours).
  { why: 'across autumn DST', at: '2025-10-22T10:00:00+02:00', due: '2025-10-29T09:00:00Z' },
  // Calendar days: holidays do not count. 22 Dec 09:00+01 -> 29 Dec 09:00+01 = 08:00Z.
  { why: 'over Christmas (calendar days)', at: '2025-12-22T09:00:00+01:00', due: '2025-12-29T08:00:00Z' },
];

describe('SLA clocks: hand-checked table', () => {
  it('has at least 40 cases', () => {
    expect(
      reactionCases.length + updateCases.length + deliveryCases.length + returnCases.length,
    ).toBeGreaterThanOrEqual(40);
  });

  it.each(reactionCases)('clock start and reaction due: $why', ({ p, sent, start, due }) => {
    const s = clockStart(p, ms(sent), cal);
    expect(iso(s)).toBe(new Date(start).toISOString());
    expect(iso(reactionDue(p, s, cal))).toBe(new Date(due).toISOString());
  });

  it.each(updateCases)('next update due: $why', ({ p, at, due }) => {
    expect(iso(nextUpdateDue(p, ms(at), cal))).toBe(new Date(due).toISOString());
  });

  it.each(deliveryCases)('delivery due: $why', ({ at, due }) => {
    expect(iso(deliveryDue(ms(at), cal))).toBe(new Date(due).toISOString());
  });

  it.each(returnCases)('return due: $why', ({ at, due }) => {
    expect(iso(returnDue(ms(at), cal))).toBe(new Date(due).toISOString());
  });
});

describe('business calendar', () => {
  it('knows the Polish public holidays of 2025 (with 24 Dec) and not 24 Dec 2024', () => {
    expect([...cal.publicHolidays(2025)].sort()).toEqual([
      '2025-01-01',
      '2025-01-06',
      '2025-04-20',
      '2025-04-21',
      '2025-05-01',
      '2025-05-03',
      '2025-06-08',
      '2025-06-19',
      '2025-08-15',
      '2025-11-01',
      '2025-11-11',
      '2025-12-24',
      '2025-12-25',
      '2025-12-26',
    ]);
    expect(cal.publicHolidays(2024).has('2024-12-24')).toBe(false);
    expect(cal.publicHolidays(2026).has('2026-12-24')).toBe(true);
    // Corpus Christi = Easter + 60: 2027 Easter 28 Mar -> 27 May; 2024 Easter 31 Mar -> 30 May.
    expect(cal.publicHolidays(2027).has('2027-05-27')).toBe(true);
    expect(cal.publicHolidays(2024).has('2024-05-30')).toBe(true);
    // observances (Good Friday, Mother's Day) are not days off.
    expect(cal.isBusinessDay('2025-04-18')).toBe(true);
    expect(cal.isBusinessDay('2025-05-26')).toBe(true);
  });

  it('uses the half-open interval [08:00, 16:00)', () => {
    expect(cal.isBusinessInstant(ms('2025-01-13T08:00:00+01:00'))).toBe(true);
    expect(cal.isBusinessInstant(ms('2025-01-13T07:59:59.999+01:00'))).toBe(false);
    expect(cal.isBusinessInstant(ms('2025-01-13T15:59:59.999+01:00'))).toBe(true);
    expect(cal.isBusinessInstant(ms('2025-01-13T16:00:00+01:00'))).toBe(false);
    expect(cal.isBusinessInstant(ms('2025-01-11T10:00:00+01:00'))).toBe(false);
  });

  it('finds the next business day', () => {
    expect(cal.nextBusinessDay('2025-01-10')).toBe('2025-01-13'); // Fri -> Mon
    expect(cal.nextBusinessDay('2025-12-23')).toBe('2025-12-29'); // over 24-26 Dec and the weekend
    expect(cal.nextBusinessDay('2024-12-23')).toBe('2024-12-24'); // 24 Dec 2024 is a working day
    expect(cal.nextBusinessDay('2025-06-18')).toBe('2025-06-20'); // Corpus Christi
  });

  it('counts business time between two instants', () => {
    // Fri 14:00 -> Mon 10:00 = 2 h + 2 h.
    expect(cal.businessTimeBetween(ms('2025-01-10T14:00:00+01:00'), ms('2025-01-13T10:00:00+01:00'))).toBe(4 * HOUR);
    expect(cal.businessTimeBetween(ms('2025-01-13T10:00:00+01:00'), ms('2025-01-10T14:00:00+01:00'))).toBe(0);
  });

  it('honours a per-customer calendar (hours, zone, working days, closed days)', () => {
    const custom = new BusinessCalendar(
      BusinessCalendarConfig.parse({
        timeZone: 'Europe/London',
        opens: '09:00',
        closes: '17:30',
        workingDays: [1, 2, 3, 4, 5, 6],
        holidaysCountry: '',
        closedDays: ['2025-01-13'],
      }),
    );
    // Sat 11 Jan is a working day; Mon 13 Jan is a closed day; London = UTC in January.
    expect(custom.isBusinessInstant(ms('2025-01-11T09:00:00Z'))).toBe(true);
    expect(custom.isBusinessInstant(ms('2025-01-13T10:00:00Z'))).toBe(false);
    expect(custom.isBusinessInstant(ms('2025-01-01T10:00:00Z'))).toBe(true); // no holidays configured
    // P2 Sat 17:00 -> 30 min Sat, Sun off, Mon closed -> Tue 14 Jan 09:30Z.
    expect(iso(reactionDue('P2', ms('2025-01-11T17:00:00Z'), custom))).toBe('2025-01-14T09:30:00.000Z');
  });

  it('refuses an impossible calendar', () => {
    expect(() => new BusinessCalendar(BusinessCalendarConfig.parse({ opens: '16:00', closes: '08:00' }))).toThrow(
      /calendar.closes/,
    );
    expect(() => new BusinessCalendar(BusinessCalendarConfig.parse({ timeZone: 'Mars/Olympus' }))).toThrow(
      /calendar.timeZone/,
    );
  });

  it('puts the 75 % warning of a P2 weekend clock in business time', () => {
    // P2 update clock from Fri 15:30: due Mon 09:30 (30 min Fri + 1 h 30 Mon); 75 % of 2 h = 90 min -> Mon 09:00.
    const start = ms('2025-01-10T15:30:00+01:00');
    const due = nextUpdateDue('P2', start, cal);
    expect(iso(due)).toBe('2025-01-13T08:30:00.000Z');
    expect(iso(warningAt('business', start, due, cal))).toBe('2025-01-13T08:00:00.000Z');
    // P1: 45 minutes of real time.
    expect(warningAt('elapsed', 0, HOUR, cal)).toBe(45 * 60_000);
  });
});

describe('SLA clocks: properties', () => {
  const instant = fc.integer({ min: ms('2024-01-01T00:00:00Z'), max: ms('2028-12-31T00:00:00Z') });
  const duration = fc.integer({ min: 1, max: 40 * 60 }).map((minutes) => minutes * 60_000);
  const priority = fc.constantFrom<Priority>('P2', 'P3');

  function isBusinessOrClose(t: number): boolean {
    if (cal.isBusinessInstant(t)) return true;
    const date = cal.localDate(t);
    return cal.isBusinessDay(date) && cal.window(date).closeMs === t;
  }

  it('a P2/P3 deadline never falls outside business hours (except exactly at close)', () => {
    fc.assert(
      fc.property(instant, priority, (sent, p) => {
        const start = clockStart(p, sent, cal);
        expect(cal.isBusinessInstant(start)).toBe(true);
        expect(isBusinessOrClose(reactionDue(p, start, cal))).toBe(true);
        expect(isBusinessOrClose(nextUpdateDue(p, sent, cal))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('adding business time is monotonic in the start and in the duration', () => {
    fc.assert(
      fc.property(instant, instant, duration, duration, (a, b, d1, d2) => {
        const [t1, t2] = a <= b ? [a, b] : [b, a];
        const [e1, e2] = d1 <= d2 ? [d1, d2] : [d2, d1];
        expect(cal.addBusinessTime(t1, e1)).toBeLessThanOrEqual(cal.addBusinessTime(t2, e1));
        expect(cal.addBusinessTime(t1, e1)).toBeLessThanOrEqual(cal.addBusinessTime(t1, e2));
      }),
      { numRuns: 300 },
    );
  });

  it('P1 deadlines are exactly one hour of real time', () => {
    fc.assert(
      fc.property(instant, (sent) => {
        const start = clockStart('P1', sent, cal);
        expect(start).toBe(sent);
        expect(reactionDue('P1', start, cal) - start).toBe(HOUR);
        expect(nextUpdateDue('P1', sent, cal) - sent).toBe(HOUR);
      }),
    );
  });

  it('businessTimeBetween(start, addBusinessTime(start, d)) == d', () => {
    fc.assert(
      fc.property(instant, duration, (t, d) => {
        expect(cal.businessTimeBetween(t, cal.addBusinessTime(t, d))).toBe(d);
      }),
      { numRuns: 500 },
    );
  });

  it('nextBusinessInstant is the first business instant at or after t', () => {
    fc.assert(
      fc.property(instant, (t) => {
        const n = cal.nextBusinessInstant(t);
        expect(n).toBeGreaterThanOrEqual(t);
        expect(cal.isBusinessInstant(n)).toBe(true);
        expect(cal.businessTimeBetween(t, n)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
