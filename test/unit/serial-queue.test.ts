/** SerialQueue (hub/store/serial-queue.ts): jobs run one at a time in push order; a failure is reported, not fatal. */
import { describe, expect, it } from 'vitest';
import { SerialQueue } from '../../hub/store/serial-queue.ts';

describe('SerialQueue', () => {
  it('runs jobs one after another in order, even when an earlier job waits longer', async () => {
    const errors: unknown[] = [];
    const queue = new SerialQueue((err) => errors.push(err));
    const log: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    void queue.push(async () => {
      log.push('a:start');
      await gate;
      log.push('a:end');
    });
    void queue.push(async () => {
      log.push('b');
    });
    const c = queue.run(async () => 42);
    await Promise.resolve();
    expect(log).toEqual(['a:start']); // b waits for a
    release();
    expect(await c).toBe(42);
    expect(log).toEqual(['a:start', 'a:end', 'b']);
    expect(errors).toEqual([]);
  });

  it('a failed job is reported (push) or rejected to its caller (run), and the next jobs still run', async () => {
    const errors: unknown[] = [];
    const queue = new SerialQueue((err) => errors.push(err));
    const log: string[] = [];
    void queue.push(async () => {
      throw new Error('pushed job failed');
    });
    const failed = queue.run(async () => {
      throw new Error('run job failed');
    });
    void queue.push(async () => {
      log.push('after');
    });
    await expect(failed).rejects.toThrow('run job failed');
    await queue.idle();
    expect(log).toEqual(['after']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['pushed job failed']);
  });
});
