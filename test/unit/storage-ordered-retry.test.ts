/**
 * hub/storage/ordered-retry.ts (as the outage module uses it): an asynchronous store's writes in arrival order, each announced (`after`) only once
 * written; a failed write keeps it and every later item in memory, reported degraded, retried on the clock until
 * they are all written, nothing dropped, nothing overtaking; a write still under way when more arrive is not
 * overtaken either.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HubConfig } from '../../hub/config.ts';
import { OrderedRetry } from '../../hub/storage/ordered-retry.ts';
import { StorageHealth } from '../../hub/storage/storage-health.ts';
import { ManualClock } from '../../protocols/clock.ts';

function setup(write: (item: number) => Promise<void>) {
  const clock = new ManualClock('2026-03-02T10:00:00.000Z');
  const config = HubConfig.parse({ version: 1, api: { token: 'admin-token-0123456789abcdef' } });
  const health = new StorageHealth({ metrics: new Registry(), config });
  const written: number[] = [];
  const announced: number[] = [];
  const writes = new OrderedRetry<number>({
    store: 'device-transitions',
    waitingWhat: 'transition(s) waiting',
    clock,
    retryMs: 5000,
    health,
    log: pino({ level: 'silent' }),
    apply: async (item) => {
      await write(item);
      written.push(item);
    },
    after: (item) => {
      // announced only once written
      expect(written).toContain(item);
      announced.push(item);
    },
  });
  return { clock, health, writes, written, announced };
}

describe('ordered writes (async store)', () => {
  it('writes then announces in arrival order, also when items arrive while a write is under way', async () => {
    let release: (() => void) | undefined;
    const t = setup(
      (item) =>
        new Promise<void>((resolve) => {
          if (item === 1) release = resolve;
          else resolve();
        }),
    );
    t.writes.push(1);
    t.writes.push(2);
    t.writes.push(3);
    await Promise.resolve();
    expect(t.announced).toEqual([]); // the first write has not finished: nothing announced, nothing overtook it
    expect(t.writes.pending).toBe(3);
    release?.();
    await t.writes.idle();
    expect(t.written).toEqual([1, 2, 3]);
    expect(t.announced).toEqual([1, 2, 3]);
    expect(t.health.status().status).toBe('ok');
  });

  it('keeps a failed write and the ones after it, reports degraded, and retries on the clock until all are written', async () => {
    let isFull = true;
    const t = setup(async (item) => {
      if (isFull && item >= 2) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    });
    t.writes.push(1);
    t.writes.push(2);
    t.writes.push(3);
    await t.writes.idle();
    expect(t.announced).toEqual([1]);
    expect(t.writes.pending).toBe(2);
    expect(t.health.status()).toMatchObject({ status: 'degraded' });
    expect(t.health.status().reasons.join()).toContain('2 transition(s) waiting');

    t.writes.push(4); // queued behind the failed ones, not written before them
    await t.writes.idle();
    expect(t.written).toEqual([1]);
    t.clock.advance(5000); // still full: retried, kept
    await t.writes.idle();
    expect(t.writes.pending).toBe(3);

    isFull = false;
    t.clock.advance(5000);
    await t.writes.idle();
    expect(t.written).toEqual([1, 2, 3, 4]);
    expect(t.announced).toEqual([1, 2, 3, 4]);
    expect(t.health.status().status).toBe('ok');
  });

  it('stop: no retry any more (what waits is left, not written out of order later)', async () => {
    const t = setup(async () => {
      throw new Error('lost the database');
    });
    t.writes.push(1);
    await t.writes.idle();
    t.writes.stop();
    t.clock.advance(60_000);
    await t.writes.idle();
    expect(t.written).toEqual([]);
    expect(t.writes.pending).toBe(1);
  });
});
