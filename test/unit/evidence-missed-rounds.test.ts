import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startMissedRounds } from '../../hub/evidence/missed-rounds.ts';

const logger = pino({ level: 'silent' });
const tickets = [
  { id: 'T-1', serial: 'S-1', channel: 'auto' as const, site: 'held' },
  { id: 'T-2', serial: 'S-2', channel: 'auto' as const, site: 'elsewhere' },
  { id: 'T-3', serial: 'S-3', channel: 'phone' as const, site: 'held' },
  { id: 'T-4', serial: 'S-4', channel: 'portal' as const, site: 'held' },
  { id: 'T-5', serial: 'S-5', channel: 'auto' as const, site: null },
];

describe('evidence rounds owed (hub/evidence/missed-rounds.ts)', () => {
  it("starts a round only for tickets of sites this node holds, and a person's ticket only if an agent watches it", async () => {
    const started: string[] = [];
    const n = await startMissedRounds({
      openWithoutCollection: async () => tickets,
      holds: (site) => site === 'held',
      isMonitored: (serial) => serial === 'S-4',
      startRound: async (id) => {
        started.push(id);
      },
      logger,
    });
    expect(started).toEqual(['T-1', 'T-4']);
    expect(n).toBe(2);
  });

  it('nothing owed: no round, no failure', async () => {
    const started: string[] = [];
    const n = await startMissedRounds({
      openWithoutCollection: async () => [],
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
