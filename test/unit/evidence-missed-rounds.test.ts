import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startMissedRounds } from '../../hub/evidence/missed-rounds.ts';

const logger = pino({ level: 'silent' });
const BOOT = Date.parse('2026-11-30T10:00:00Z');
const before = '2026-11-30T09:59:00Z';
const tickets = [
  { id: 'T-1', serial: 'S-1', channel: 'auto' as const, site: 'held', openedAt: before },
  { id: 'T-2', serial: 'S-2', channel: 'auto' as const, site: 'elsewhere', openedAt: before },
  { id: 'T-3', serial: 'S-3', channel: 'phone' as const, site: 'held', openedAt: before },
  { id: 'T-4', serial: 'S-4', channel: 'portal' as const, site: 'held', openedAt: before },
  { id: 'T-5', serial: 'S-5', channel: 'auto' as const, site: null, openedAt: before },
  // opened by this process 10 s ago: its own round is starting; a sweep would ask twice
  { id: 'T-6', serial: 'S-6', channel: 'auto' as const, site: 'held', openedAt: '2026-11-30T10:00:50Z' },
  // opened by this process 40 s ago and still without a collection: owed
  { id: 'T-7', serial: 'S-7', channel: 'auto' as const, site: 'held', openedAt: '2026-11-30T10:00:20Z' },
];
const NOW = Date.parse('2026-11-30T10:01:00Z');

describe('evidence rounds owed (hub/evidence/missed-rounds.ts)', () => {
  it("starts a round only for tickets of sites this node holds, a person's ticket only if an agent watches it, and not one this process opened within the grace", async () => {
    const started: string[] = [];
    const n = await startMissedRounds({
      openWithoutCollection: async () => tickets,
      bootMs: BOOT,
      now: () => NOW,
      holds: (site) => site === 'held',
      isMonitored: (serial) => serial === 'S-4',
      startRound: async (id) => {
        started.push(id);
      },
      logger,
    });
    expect(started).toEqual(['T-1', 'T-4', 'T-7']);
    expect(n).toBe(3);
  });

  it('nothing owed: no round, no failure', async () => {
    const started: string[] = [];
    const n = await startMissedRounds({
      openWithoutCollection: async () => [],
      bootMs: BOOT,
      now: () => NOW,
      holds: () => true,
      isMonitored: () => true,
      startRound: async (id) => {
        started.push(id);
      },
      logger,
    });
    expect([n, started]).toEqual([0, []]);
  });
});
