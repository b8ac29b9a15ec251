/**
 * Issue 19: state that must survive a crash is stored. A hub that dies while the site grouper holds `down`
 * transitions announces them after its restart (one site alert, not lost, not 3 P1s); a raised site alert is
 * kept across a restart and cleared when its devices recover; nothing is announced twice.
 * Real ingest + detector + outage module on one SQLite file; a "crash" drops the hub without stopping it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type DetectionSlice, startDetectionSlice } from '../helpers/detection-slice.ts';
import { makeHealthRecord, makeHeartbeat } from '../helpers/health-record.ts';

/** Four of the agent's five devices die together (a room switch): one site problem, held up to one poll + margin. */
const SERIALS = ['SN-A', 'SN-B', 'SN-C', 'SN-D'];
const ALIVE = 'SN-E';
let dir: string;
const slices: DetectionSlice[] = [];
afterEach(() => {
  for (const s of slices.splice(0)) s.ctx.db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function boot(start: string): Promise<DetectionSlice> {
  // The "crash" comes between two writes: a real one would roll an open transaction back; this handle would hold it.
  await slices.at(-1)?.settle();
  const slice = await startDetectionSlice({ dbFile: join(dir, 'hub.sqlite'), start });
  slices.push(slice);
  return slice;
}

let seq = 0;
/** One poll of the agent's five devices; the transitions it causes are stored and announced before time moves on. */
async function round(slice: DetectionSlice, reachable: boolean): Promise<void> {
  slice.sendHeartbeat(makeHeartbeat({ at: slice.clock.now() }));
  for (const serial of SERIALS) {
    slice.sendHealth(makeHealthRecord({ serial, seq: ++seq, at: slice.clock.now(), reachable }));
  }
  slice.sendHealth(makeHealthRecord({ serial: ALIVE, seq: ++seq, at: slice.clock.now() }));
  await slice.settle();
  slice.clock.advance(10_000);
}

describe('issue 19: crash during a site-grouping hold', () => {
  it('announces the held downs after the restart as ONE site alert; the alert survives and clears', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hezo-crash-'));
    const first = await boot('2026-03-02T10:00:00.000Z');
    await round(first, true);
    await round(first, false);
    await round(first, false);
    // All four are down and held (stored, not announced); the hub dies now.
    expect(first.transitions.filter((t) => t.to === 'down')).toEqual([]);
    expect(first.alerts).toEqual([]);

    const second = await boot('2026-03-02T10:00:35.000Z');
    second.clock.advance(15_000); // held again for one poll + margin, then decided together
    const downs = second.transitions.filter((t) => t.to === 'down');
    expect(downs.map((t) => t.serial).sort()).toEqual(SERIALS);
    expect(downs.every((t) => t.groupedInSiteAlert === true)).toBe(true);
    expect(second.alerts.map((a) => `${a.status}:${a.reason}`)).toEqual(['raised:site-network-down']);

    // Dies again once everything was announced: the third start announces nothing again, and the
    // restored alert clears when the devices answer.
    const third = await boot('2026-03-02T10:00:40.000Z');
    third.clock.advance(0);
    expect(third.transitions).toEqual([]);
    await round(third, true);
    expect(third.alerts.map((a) => `${a.status}:${a.reason}`)).toEqual(['cleared:site-network-back']);
  });
});

describe('issue 19: flapping state survives a restart', () => {
  it('a flapping device is still flapping after a crash: a short outage does not become a P1-grade down', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hezo-flap-'));
    const first = await boot('2026-03-02T10:00:00.000Z');
    const poll = async (slice: DetectionSlice, patch: Record<string, unknown>, reachable = true) => {
      slice.sendHeartbeat(makeHeartbeat({ at: slice.clock.now() }));
      slice.sendHealth(makeHealthRecord({ serial: 'SN-F', seq: ++seq, at: slice.clock.now(), reachable }, patch));
      await slice.settle();
      slice.clock.advance(10_000);
    };
    for (const uptimeS of [1000, 5, 15, 5, 15, 5]) await poll(first, { uptimeS });
    expect(first.outage.get('SN-F')).toMatchObject({ state: 'degraded', reason: 'flapping' });
    // Crash, restart, and the device drops off for two polls (it reboots again).
    const second = await boot('2026-03-02T10:01:05.000Z');
    await poll(second, {}, false);
    await poll(second, {}, false);
    await poll(second, {}, false);
    expect(second.transitions.filter((t) => t.to === 'down')).toEqual([]);
    expect(second.outage.get('SN-F')?.state).toBe('degraded');
  });
});
