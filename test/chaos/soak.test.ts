/**
 * Chaos (h): soak on virtual time. The hub's detection path (real ingest, detector, outage module, SQLite)
 * takes every record of a fleet for hours of virtual time while devices die and come back; its memory must
 * stay flat: the RSS sampled every virtual hour, the last quarter's peak against the first quarter's.
 * `npm test`: 100 devices for 2 h (10 s polls); `npm run chaos`: 1,000 devices for 24 h (120 s polls, 720,000
 * records: about two minutes on the 2-core machine).
 */
import { describe, expect, it } from 'vitest';
import { startDetectionSlice } from '../helpers/detection-slice.ts';
import { makeHealthRecord, makeHeartbeat } from '../helpers/health-record.ts';
import { IS_LONG, recordChaosResult } from './harness.ts';

const DEVICES = IS_LONG ? 1000 : 100;
const HOURS = IS_LONG ? 24 : 2;
const POLL_MS = IS_LONG ? 120_000 : 10_000;
const AGENTS = 10;

describe('chaos: soak on virtual time', () => {
  it(`${DEVICES} devices for ${HOURS} h of virtual time: memory flat, every dead device detected`, async () => {
    const slice = await startDetectionSlice({ start: '2026-03-02T00:00:00.000Z' });
    const samplesMb: number[] = [];
    let seq = 0;
    let produced = 0;
    let missed = 0;
    const pollsPerHour = 3_600_000 / POLL_MS;
    try {
      for (let hour = 0; hour < HOURS; hour++) {
        for (let p = 0; p < pollsPerHour; p++) {
          const now = slice.clock.now();
          for (let a = 0; a < AGENTS; a++) {
            slice.sendHeartbeat(makeHeartbeat({ agentId: `agent-${a}`, at: now, intervalMs: POLL_MS }));
          }
          for (let d = 0; d < DEVICES; d++) {
            // Every 50th device is dead during odd hours.
            const isDead = d % 50 === hour % 50 && hour % 2 === 1;
            const record = makeHealthRecord(
              { serial: `SN-${d}`, agentId: `agent-${d % AGENTS}`, seq: ++seq, at: now, reachable: !isDead },
              { pollIntervalMs: POLL_MS },
            );
            slice.sendHealth(record);
            produced++;
          }
          slice.clock.advance(POLL_MS);
        }
        // Each dead device of this hour was seen down.
        for (let d = 0; d < DEVICES; d++) {
          if (d % 50 === hour % 50 && hour % 2 === 1 && slice.outage.get(`SN-${d}`)?.state !== 'down') missed++;
        }
        samplesMb.push(process.memoryUsage().rss / 1_048_576);
        // Let the event loop breathe (GC, vitest's own timers).
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      await slice.stop();
    }
    const quarter = Math.max(1, Math.floor(samplesMb.length / 4));
    const firstPeak = Math.max(...samplesMb.slice(0, quarter));
    const lastPeak = Math.max(...samplesMb.slice(-quarter));
    recordChaosResult({
      kind: `soak ${HOURS} h virtual, ${DEVICES} devices`,
      rounds: HOURS,
      survived: HOURS - (missed > 0 ? 1 : 0),
      produced,
      delivered: produced - slice.rejected.length,
      lost: 0,
      peakRssMb: Math.round(Math.max(...samplesMb)),
      note: `RSS first-quarter peak ${Math.round(firstPeak)} MB, last-quarter peak ${Math.round(lastPeak)} MB; ${missed} dead devices missed`,
    });
    expect(slice.rejected).toEqual([]);
    expect(missed).toBe(0);
    // Flat: no growth beyond noise (a leak per record would add tens of MB over these record counts).
    expect(lastPeak).toBeLessThan(firstPeak * 1.25 + 64);
  }, 900_000);
});
