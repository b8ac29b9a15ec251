/** The InfluxDB writer's circular FIFO against a plain array doing the same operations (fast-check). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PointQueue } from '../../hub/influx/point-queue.ts';

type Op =
  | { op: 'push'; n: number }
  | { op: 'take'; n: number }
  | { op: 'drop'; n: number }
  | { op: 'requeue'; n: number };

describe('PointQueue', () => {
  it('keeps FIFO order through push, take, drop of the oldest and a failed batch put back, across growth', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('push' as const), n: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ op: fc.constant('take' as const), n: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ op: fc.constant('drop' as const), n: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ op: fc.constant('requeue' as const), n: fc.integer({ min: 0, max: 30 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const queue = new PointQueue<number>(16);
        let model: number[] = [];
        let next = 0;
        for (const o of ops) {
          if (o.op === 'push') {
            for (let i = 0; i < o.n; i++) {
              queue.push(next);
              model.push(next);
              next += 1;
            }
          } else if (o.op === 'take') {
            expect(queue.take(o.n)).toEqual(model.slice(0, o.n));
            model = model.slice(o.n);
          } else if (o.op === 'drop') {
            expect(queue.dropOldest(o.n)).toBe(Math.min(o.n, model.length));
            model = model.slice(o.n);
          } else {
            const batch = queue.take(o.n);
            queue.unshiftAll(batch);
          }
          expect(queue.length).toBe(model.length);
        }
        expect(queue.take(Number.MAX_SAFE_INTEGER)).toEqual(model);
        expect(queue.length).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
