/**
 * The monthly SLA report as pure computation on a virtual clock (issue 15): reaction and update times against the
 * targets (P1 elapsed, P2/P3 business time, sla-rules.md SLA-6/7), breaches, availability from state history, CSV.
 */
import { describe, expect, it } from 'vitest';
import { BusinessCalendar } from '../../hub/calendar/business-calendar.ts';
import { BusinessCalendarConfig } from '../../hub/config.ts';
import {
  buildSlaReport,
  monthRange,
  type ReportInput,
  type ReportTicket,
  roomAvailability,
} from '../../hub/reports/sla-report.ts';
import { slaReportCsv } from '../../hub/reports/sla-report-csv.ts';

const cal = new BusinessCalendar(BusinessCalendarConfig.parse({}));
const ms = (iso: string) => Date.parse(iso);

function ticket(p: Partial<ReportTicket> & Pick<ReportTicket, 'id' | 'priority' | 'openedAt'>): ReportTicket {
  return {
    serial: 'X50-A',
    channel: 'auto',
    state: 'open',
    contract: 'HZ-1',
    coverage: 'active',
    clockStartMs: ms(p.openedAt),
    reactionDueMs: null,
    breached: [],
    contacts: [],
    transitions: [],
    ...p,
  };
}

function input(nowIso: string, tickets: ReportTicket[]): ReportInput {
  return {
    customer: 'acme',
    customerName: 'ACME',
    month: '2026-11',
    nowMs: ms(nowIso),
    contracts: [{ number: 'HZ-1', start: '2025-02-01', end: '2028-01-31', serials: ['X50-A', 'X30-B', 'X70-C'] }],
    devices: [
      { serial: 'X50-A', name: 'Board room', model: 'StudioX50', site: 'krk' },
      { serial: 'X30-B', name: 'Huddle', model: 'StudioX30', site: 'krk' },
      { serial: 'X70-C', model: 'StudioX70', site: 'krk' },
    ],
    tickets,
    transitions: new Map([
      [
        'X50-A',
        [
          { at: '2026-10-01T10:00:00.000Z', to: 'up' as const },
          { at: '2026-11-10T02:00:00.000Z', to: 'down' as const },
          { at: '2026-11-10T08:00:00.000Z', to: 'up' as const },
        ],
      ],
      [
        'X30-B',
        [
          { at: '2026-10-20T10:00:00.000Z', to: 'up' as const },
          { at: '2026-11-20T00:00:00.000Z', to: 'unknown' as const },
          { at: '2026-11-21T00:00:00.000Z', to: 'up' as const },
        ],
      ],
    ]),
  };
}

const TICKETS = [
  // P1 at night: reaction 40 min (met, 24x7); updates after 50 min (ok) and 80 min (late); then accepted.
  ticket({
    id: 'HZ-000001',
    priority: 'P1',
    openedAt: '2026-11-10T02:00:00.000Z',
    state: 'accepted',
    contacts: ['2026-11-10T02:40:00.000Z', '2026-11-10T03:30:00.000Z', '2026-11-10T04:50:00.000Z'],
    transitions: [
      { at: '2026-11-10T02:40:00.000Z', to: 'acknowledged' },
      { at: '2026-11-10T03:00:00.000Z', to: 'verifying' },
      { at: '2026-11-10T05:00:00.000Z', to: 'accepted' },
    ],
  }),
  // P3 sent Friday 21:00 local: the clock starts Monday 08:00 local (07:00Z); contact 11:00 local = 3 business h.
  ticket({
    id: 'HZ-000002',
    priority: 'P3',
    serial: 'X30-B',
    channel: 'portal',
    openedAt: '2026-11-13T20:00:00.000Z',
    clockStartMs: ms('2026-11-16T07:00:00.000Z'),
    state: 'acknowledged',
    contacts: ['2026-11-16T10:00:00.000Z'],
    transitions: [{ at: '2026-11-16T10:00:00.000Z', to: 'acknowledged' }],
  }),
  // P2 never answered: reaction breached.
  ticket({
    id: 'HZ-000003',
    priority: 'P2',
    openedAt: '2026-11-17T09:00:00.000Z',
    reactionDueMs: ms('2026-11-17T10:00:00.000Z'),
    breached: ['reaction'],
  }),
  // October: not in the November report.
  ticket({ id: 'HZ-000000', priority: 'P1', openedAt: '2026-10-31T22:59:00.000Z' }),
  // No active contract: its own group, no clocks.
  ticket({
    id: 'HZ-000004',
    priority: 'P1',
    serial: 'OLD-1',
    openedAt: '2026-11-18T09:00:00.000Z',
    contract: null,
    coverage: 'none',
    clockStartMs: null,
  }),
];

describe('monthly SLA report', () => {
  it('months are whole local months of the customer time zone', () => {
    expect(monthRange('2026-11', 'Europe/Warsaw')).toEqual({
      fromMs: ms('2026-10-31T23:00:00.000Z'),
      toMs: ms('2026-11-30T23:00:00.000Z'),
    });
    expect(() => monthRange('2026-13', 'Europe/Warsaw')).toThrow(/YYYY-MM/);
  });

  it('counts tickets by priority with reaction and update times against the targets', () => {
    const report = buildSlaReport(input('2026-12-05T00:00:00.000Z', TICKETS), cal);
    expect(report.complete).toBe(true);
    expect(report.contracts.map((c) => c.contract)).toEqual(['HZ-1', null]);
    const [hz1, none] = report.contracts;
    expect(hz1!.tickets.map((t) => t.id)).toEqual(['HZ-000001', 'HZ-000002', 'HZ-000003']);
    expect(none!.tickets.map((t) => t.id)).toEqual(['HZ-000004']);

    const p1 = hz1!.tickets[0]!;
    expect(p1).toMatchObject({ room: 'Board room', reactionMin: 40, reactionMet: true, updates: 2, updatesLate: 1 });
    expect(p1.longestUpdateGapMin).toBe(80);
    const p3 = hz1!.tickets[1]!;
    expect(p3).toMatchObject({ room: 'Huddle', reactionMin: 180, reactionMet: true });
    const p2 = hz1!.tickets[2]!;
    expect(p2).toMatchObject({ reactionMin: null, reactionMet: false, breached: ['reaction'] });

    const byPriority = Object.fromEntries(hz1!.priorities.map((p) => [p.priority, p]));
    expect(byPriority.P1).toMatchObject({ tickets: 1, reactionTargetMin: 60, reactionMet: 1, updatesLate: 1 });
    expect(byPriority.P2).toMatchObject({ tickets: 1, reactionMissed: 1, breaches: 1 });
    expect(byPriority.P3).toMatchObject({ tickets: 1, reactionTargetMin: 240, reactionAvgMin: 180 });
    expect(hz1!.breaches).toEqual([{ ticket: 'HZ-000003', clock: 'reaction' }]);
    expect(none!.tickets[0]!.reactionMet).toBeNull();
  });

  it('availability of each room comes from its state history; unknown time is not counted', () => {
    const report = buildSlaReport(input('2026-12-05T00:00:00.000Z', TICKETS), cal);
    const rooms = Object.fromEntries(report.contracts[0]!.rooms.map((r) => [r.serial, r]));
    const monthMin = 30 * 24 * 60;
    expect(rooms['X50-A']).toMatchObject({ room: 'Board room', measuredMin: monthMin, downMin: 360 });
    expect(rooms['X50-A']!.availabilityPct).toBeCloseTo(((monthMin - 360) / monthMin) * 100, 3);
    expect(rooms['X30-B']).toMatchObject({ measuredMin: monthMin - 1440, unknownMin: 1440, availabilityPct: 100 });
    expect(rooms['X70-C']).toMatchObject({ room: 'X70-C', measuredMin: 0, availabilityPct: null });
  });

  it('a month in progress ends now; a ticket still waiting for its reaction is pending', () => {
    const pending = ticket({
      id: 'HZ-000005',
      priority: 'P2',
      openedAt: '2026-11-10T07:30:00.000Z',
      reactionDueMs: ms('2026-11-10T08:30:00.000Z'),
    });
    const report = buildSlaReport(input('2026-11-10T08:00:00.000Z', [pending]), cal);
    expect(report.complete).toBe(false);
    expect(report.to).toBe('2026-11-10T08:00:00.000Z');
    const line = report.contracts[0]!.priorities.find((p) => p.priority === 'P2')!;
    expect(line).toMatchObject({ tickets: 1, reactionPending: 1, reactionMissed: 0 });
    // Down since 02:00Z until now (08:00Z) exactly when the month is cut at now.
    expect(
      roomAvailability(
        [{ at: '2026-11-10T02:00:00.000Z', to: 'down' }],
        ms('2026-11-10T00:00:00Z'),
        ms('2026-11-10T08:00:00Z'),
      ),
    ).toEqual({
      measuredMs: 6 * 3_600_000,
      downMs: 6 * 3_600_000,
      unknownMs: 0,
    });
  });

  it('CSV: one row per contract and priority, ticket and room, with the counts; cells cannot run as formulas', () => {
    const base = input('2026-12-05T00:00:00.000Z', TICKETS);
    const csv = slaReportCsv(
      buildSlaReport(
        { ...base, devices: [{ ...base.devices[0]!, name: '=HYPERLINK("x")' }, ...base.devices.slice(1)] },
        cal,
      ),
    );
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^kind,contract,priority,ticket,serial,room,tickets,/);
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.filter((r) => r[0] === 'priority')).toHaveLength(6);
    expect(rows.filter((r) => r[0] === 'ticket')).toHaveLength(4);
    expect(rows.filter((r) => r[0] === 'room')).toHaveLength(3);
    const p1 = rows.find((r) => r[0] === 'priority' && r[1] === 'HZ-1' && r[2] === 'P1')!;
    expect(p1[6]).toBe('1');
    expect(csv).toContain(`"'=HYPERLINK(""x"")"`);
  });
});
