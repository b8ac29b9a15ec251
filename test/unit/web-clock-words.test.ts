/**
 * The browser pages' words for SLA clocks and device problems (dashboards/web/hezo-text.js), run in Node with a
 * bare `window`: a P2/P3 ticket sent at night says "starts Mon 08:00", an 8x5 clock outside business hours
 * "paused until ...", and the clocks the hub reports as running are the ones counted (issue 15).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { humanReason } from '../../hub/tickets/human-reason.ts';
import { CHANNEL_NAME, COMPONENT_MISSING, STATE_REASON, wordsScript } from '../../hub/tickets/words.ts';

interface Clock {
  clock: string;
  status: string;
  running: boolean;
  remainingMs: number | null;
}
let T: {
  clockStates(ticket: unknown, nowMs: number, calendar?: unknown): Clock[];
  clockText(c: Clock, ticket: unknown, calendar?: unknown): string;
  deviceReason(d: unknown, ticket?: unknown): string;
  shortTitle(t: unknown): string;
  monthOf(ms: number, timeZone?: string): string;
};

beforeAll(async () => {
  // What the page gets from /web/hezo-words.js: the hub's own words (hub/tickets/words.ts).
  const window = {};
  (globalThis as { window?: unknown }).window = window;
  new Function('window', wordsScript())(window);
  // A classic browser script (no exports): loading it sets window.HezoText.
  await import(new URL('../../dashboards/web/hezo-text.js', import.meta.url).href);
  T = (globalThis as unknown as { window: { HezoText: typeof T } }).window.HezoText;
});

const WARSAW = { timeZone: 'Europe/Warsaw', openNow: false, nextOpening: '2026-11-30T07:00:00.000Z' };

function ticket(over: Record<string, unknown> = {}) {
  return {
    id: 'HZ-000001',
    serial: 'X30-0002',
    model: 'StudioX30',
    priority: 'P3',
    state: 'open',
    coverage: 'active',
    title: 'StudioX30 X30-0002: How do we pair a laptop?',
    sla: {
      clockStart: '2026-11-30T07:00:00.000Z',
      reactionDue: '2026-11-30T11:00:00.000Z',
      nextUpdateDue: null,
      deliveryDue: null,
      returnDue: null,
      breached: [],
      warned: [],
      running: ['reaction'],
    },
    ...over,
  };
}

describe('SLA clock words in the pages', () => {
  it('a P3 sent on Saturday night starts at Monday 08:00 Warsaw', () => {
    const t = ticket();
    const now = Date.parse('2026-11-28T22:00:00Z');
    const reaction = T.clockStates(t, now, WARSAW).find((c) => c.clock === 'reaction')!;
    expect(reaction.status).toBe('waiting');
    expect(T.clockText(reaction, t, WARSAW)).toBe('starts Mon 08:00');
    expect(T.clockStates(t, now, WARSAW).find((c) => c.clock === 'delivery')!.status).toBe('none');
  });

  it('an 8x5 update clock outside business hours is paused until the next opening; a P1 never pauses', () => {
    const sla = { ...ticket().sla, nextUpdateDue: '2026-11-30T09:00:00.000Z', running: ['update'] };
    const p2 = ticket({ priority: 'P2', state: 'acknowledged', sla });
    const now = Date.parse('2026-11-28T22:00:00Z');
    const update = T.clockStates(p2, now, WARSAW).find((c) => c.clock === 'update')!;
    expect(update.status).toBe('paused');
    expect(T.clockText(update, p2, WARSAW)).toBe('paused until Mon 08:00 (due Mon 10:00)');
    expect(T.clockStates(p2, now, WARSAW).find((c) => c.clock === 'reaction')!.status).toBe('met');
    const p1 = ticket({
      priority: 'P1',
      state: 'acknowledged',
      sla: { ...sla, nextUpdateDue: '2026-11-28T22:10:00Z' },
    });
    const p1Update = T.clockStates(p1, now, WARSAW).find((c) => c.clock === 'update')!;
    expect(p1Update.status).toBe('warned');
    expect(T.clockText(p1Update, p1, WARSAW)).toBe('◆ 10:00');
  });

  it('breached clocks say by how much; the hub decides which clocks run', () => {
    const t = ticket({
      priority: 'P1',
      state: 'replacement_shipped',
      sla: {
        ...ticket().sla,
        nextUpdateDue: '2026-11-28T21:00:00Z',
        deliveryDue: '2026-11-28T21:48:00Z',
        running: ['delivery'],
      },
    });
    const now = Date.parse('2026-11-28T22:00:00Z');
    const states = Object.fromEntries(T.clockStates(t, now, WARSAW).map((c) => [c.clock, c]));
    expect(states.update!.running).toBe(false);
    expect(states.update!.status).toBe('met');
    expect(states.delivery!.status).toBe('breached');
    expect(T.clockText(states.delivery!, t, WARSAW)).toBe('BREACHED +12m');
  });

  it('device reasons and titles in words', () => {
    expect(
      T.deviceReason(
        { reason: 'all-channels-failed', problems: [] },
        { summary: 'rest: timeout (1 attempt)\nsnmp: timeout (1 attempt)' },
      ),
    ).toBe('no answer on REST and SNMP');
    expect(
      T.deviceReason(
        { reason: 'all-channels-failed', problems: [] },
        { title: 'StudioX50 S down: no answer on REST, SNMP and TCP' },
      ),
    ).toBe('no answer on REST, SNMP and TCP');
    expect(T.deviceReason({ reason: 'component-failed', problems: ['component-failed:camera'] })).toBe(
      'camera disconnected',
    );
    expect(T.shortTitle(ticket())).toBe('How do we pair a laptop?');
  });
});

describe('the pages and the ticket titles say the same words', () => {
  const evidences: string[][] = [
    [],
    ['rest: timeout: connect timed out (2 attempts)', 'snmp: no answer', 'tcp: refused'],
    ['snmp: no answer'],
    ['camera "Poly Studio E70": failed (rest)'],
    ['camera E70 unplugged'],
  ];
  const codes = [
    ...Object.keys(STATE_REASON),
    'component-failed',
    'some-new-code',
    ...Object.keys(COMPONENT_MISSING).map((k) => `component-failed:${k}`),
    ...Object.keys(CHANNEL_NAME).map((k) => `channel-failed:${k}`),
  ];
  it.each(codes)('%s, with and without problems and evidence', (code) => {
    for (const evidence of evidences) {
      const base = code.split(':')[0]!;
      const cases: Array<[string, string[]]> = [
        [base, code.includes(':') ? [code] : []],
        [code.includes(':') ? 'degraded' : code, code.includes(':') ? [code, 'flapping'] : []],
      ];
      for (const [reason, problems] of cases) {
        expect(T.deviceReason({ reason, problems, evidence }), `${reason} ${problems} ${evidence}`).toBe(
          humanReason(reason, problems, evidence),
        );
      }
    }
  });
});

describe('the report month (monthOf)', () => {
  it("is the month on the contract's calendar, not the UTC (or the browser's) month", () => {
    // 23:30 UTC on 30 November is already December in Warsaw, still November in New York
    const lateNov = Date.parse('2026-11-30T23:30:00Z');
    expect(T.monthOf(lateNov, 'Europe/Warsaw')).toBe('2026-12');
    expect(T.monthOf(lateNov, 'UTC')).toBe('2026-11');
    expect(T.monthOf(lateNov, 'America/New_York')).toBe('2026-11');
    // and at the year's turn: 31 December 23:00 UTC is January in Warsaw (CET, +1)
    expect(T.monthOf(Date.parse('2026-12-31T23:00:00Z'), 'Europe/Warsaw')).toBe('2027-01');
    expect(T.monthOf(Date.parse('2026-12-31T22:59:59Z'), 'Europe/Warsaw')).toBe('2026-12');
  });
});
