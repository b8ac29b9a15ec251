/**
 * The timed flush of lastSeen and sampled history writes in chunks of FLUSH_CHUNK_ROWS rows, one transaction each,
 * and lets the event loop run between chunks (no long synchronous stretch with 10k devices); stop() writes the rest.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FLUSH_CHUNK_ROWS } from '../../hub/outage/module.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { startTestHub, type TestHub } from '../helpers/hub-fixture.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Resolves after the callbacks already queued with setImmediate (one flush chunk) have run. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function feed(t: TestHub, clock: ManualClock, devices: number): void {
  for (let i = 0; i < devices; i++) {
    const record = makeHealthRecord({ serial: `SN-${i}`, seq: i + 1, at: clock.now() });
    const json = JSON.stringify(record);
    t.hub.ctx.bus.emit('ingest:health', {
      site: record.site,
      agentId: record.agentId,
      clientId: record.agentId,
      receivedAtMs: clock.now(),
      message: record,
      json,
    });
  }
}

describe('chunked flush', () => {
  it('writes lastSeen + first history rows of 1,250 devices in 5 transactions, yielding between them', async () => {
    const clock = new ManualClock(Date.now());
    const t = await startTestHub({ clock, config: { detection: { flushIntervalMs: 1000 } } });
    cleanups.push(() => t.close());
    const devices = FLUSH_CHUNK_ROWS * 2 + FLUSH_CHUNK_ROWS / 2;
    const count = (table: string) =>
      (t.hub.ctx.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    const rows = () => count('device_live') + count('health_history');
    feed(t, clock, devices); // every device's first record is also due for the sampled history
    expect(rows()).toBe(0);

    clock.advance(1000); // one chunk per turn of the event loop (the store is asynchronous: none before the first)
    expect(rows()).toBe(0);
    const written: number[] = [];
    for (let i = 0; i < 5; i++) {
      await nextTurn();
      written.push(rows());
    }
    expect(written).toEqual([1, 2, 3, 4, 5].map((n) => n * FLUSH_CHUNK_ROWS));
    expect(count('device_live')).toBe(devices);
    expect(count('health_history')).toBe(devices);

    // The timer is armed again after the last chunk: new lastSeen rows are written at the next tick.
    feed(t, clock, devices + 10);
    clock.advance(1000);
    for (let i = 0; i < 3; i++) await nextTurn(); // 1,260 live rows + 10 history rows: three chunks
    expect(count('device_live')).toBe(devices + 10);
  });

  it('stop() in the middle of a chunked flush writes everything', async () => {
    const clock = new ManualClock(Date.now());
    const t = await startTestHub({ clock, config: { detection: { flushIntervalMs: 1000 } } });
    const devices = FLUSH_CHUNK_ROWS * 3;
    feed(t, clock, devices);
    clock.advance(1000);
    await nextTurn(); // the first chunk is written
    const db = t.hub.ctx.db;
    const before = (db.prepare('SELECT COUNT(*) AS n FROM device_live').get() as { n: number }).n;
    expect(before).toBe(FLUSH_CHUNK_ROWS);
    const counted: number[] = [];
    const outage = t.hub.ctx.services.devices as unknown as { stop(): Promise<void> };
    await outage.stop();
    counted.push((db.prepare('SELECT COUNT(*) AS n FROM device_live').get() as { n: number }).n);
    expect(counted).toEqual([devices]);
    await t.close();
  });
});
