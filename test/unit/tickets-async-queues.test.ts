/**
 * The ticket module's ordering helpers (issue 16: the store became async). KeyedQueue: per ticket, jobs run in the
 * order asked, also when an earlier one is slower or fails; different tickets do not wait for each other.
 * OrderedRetry: automatic tickets are written in transition order; an unavailable store keeps the item and every
 * later one and retries them in order; an item's own failure does not hold the others back.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HubConfig } from '../../hub/config.ts';
import { isStoreUnavailable, OrderedRetry } from '../../hub/storage/ordered-retry.ts';
import { StorageHealth } from '../../hub/storage/storage-health.ts';
import { KeyedQueue } from '../../hub/tickets/keyed-queue.ts';
import { ManualClock } from '../../protocols/clock.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('KeyedQueue', () => {
  it('runs one key in call order (a slow or failing job first), other keys beside it', async () => {
    const queue = new KeyedQueue();
    const done: string[] = [];
    const gate = deferred();
    const first = queue.run('HZ-1', async () => {
      await gate.promise;
      done.push('HZ-1 a');
    });
    const failing = queue.run('HZ-1', () => Promise.reject(new Error('refused')));
    const third = queue.run('HZ-1', async () => {
      done.push('HZ-1 c');
      return 3;
    });
    await queue.run('HZ-2', async () => {
      done.push('HZ-2 a');
    });
    expect(done).toEqual(['HZ-2 a']); // HZ-2 did not wait for HZ-1's slow job
    gate.resolve();
    await first;
    await expect(failing).rejects.toThrow('refused');
    expect(await third).toBe(3);
    expect(done).toEqual(['HZ-2 a', 'HZ-1 a', 'HZ-1 c']);
    await queue.idle();
  });
});

describe('OrderedRetry (automatic tickets)', () => {
  const setup = (apply: (item: string) => Promise<void>) => {
    const clock = new ManualClock('2026-11-30T06:00:00Z');
    const config = HubConfig.parse({ version: 1, api: { token: 'admin-token-0123456789abcdef' } });
    const health = new StorageHealth({ metrics: new Registry(), config });
    const retry = new OrderedRetry<string>({
      store: 'tickets',
      waitingWhat: 'item(s)',
      clock,
      retryMs: 5000,
      health,
      log: pino({ level: 'silent' }),
      apply,
      isRetryable: isStoreUnavailable,
    });
    return { clock, retry };
  };

  it('keeps every item after an unavailable store and writes them in order once it is back', async () => {
    const written: string[] = [];
    let isDown = true;
    const { clock, retry } = setup(async (item) => {
      if (isDown) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      written.push(item);
    });
    retry.push('down SN-1');
    retry.push('up SN-1');
    await retry.idle();
    expect(written).toEqual([]);
    expect(retry.pending).toBe(2);
    retry.push('down SN-2'); // behind the waiting ones, never before them
    await retry.idle();
    expect(retry.pending).toBe(3);
    isDown = false;
    clock.advance(5000);
    await retry.idle();
    expect(written).toEqual(['down SN-1', 'up SN-1', 'down SN-2']);
    expect(retry.pending).toBe(0);
  });

  it("an item's own failure is dropped (its caller logged it); the next items are written", async () => {
    const written: string[] = [];
    const { retry } = setup(async (item) => {
      if (item === 'bad') throw new Error('ticket vanished');
      written.push(item);
    });
    for (const item of ['a', 'bad', 'b']) retry.push(item);
    await retry.idle();
    expect(written).toEqual(['a', 'b']);
    expect(retry.pending).toBe(0);
  });

  it('tells an unavailable store from a refused write', () => {
    expect(isStoreUnavailable(Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' }))).toBe(true);
    expect(isStoreUnavailable(Object.assign(new Error('admin shutdown'), { code: '57P01' }))).toBe(true);
    expect(isStoreUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isStoreUnavailable(Object.assign(new Error('unique'), { code: '23505' }))).toBe(false);
    expect(isStoreUnavailable(Object.assign(new Error('c'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }))).toBe(false);
    expect(isStoreUnavailable(new Error('transition not allowed'))).toBe(false);
  });
});
