/**
 * A FIFO on a circular array for the InfluxDB writer: append at the tail, take or drop from the head, put a
 * failed batch back at the head, each in O(items moved) instead of `Array.splice(0, n)` shifting the whole
 * queue (20,000 points moved for every record while InfluxDB is down and the queue is full).
 */
export class PointQueue<T> {
  private items: Array<T | undefined>;
  private head = 0;
  private size = 0;

  constructor(initialCapacity = 1024) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    this.reserve(this.size + 1);
    this.items[(this.head + this.size) & (this.items.length - 1)] = item;
    this.size += 1;
  }

  /** Remove and return the `n` oldest (fewer when the queue is shorter). */
  take(n: number): T[] {
    const count = Math.max(0, Math.min(n, this.size));
    const out = new Array<T>(count);
    const mask = this.items.length - 1;
    for (let i = 0; i < count; i++) {
      const at = (this.head + i) & mask;
      out[i] = this.items[at] as T;
      this.items[at] = undefined;
    }
    this.head = (this.head + count) & mask;
    this.size -= count;
    return out;
  }

  /** Drop the `n` oldest; returns how many were dropped. */
  dropOldest(n: number): number {
    const count = Math.max(0, Math.min(n, this.size));
    const mask = this.items.length - 1;
    for (let i = 0; i < count; i++) this.items[(this.head + i) & mask] = undefined;
    this.head = (this.head + count) & mask;
    this.size -= count;
    return count;
  }

  /** Put `batch` back at the head, in its order (a failed write: the oldest points go out first again). */
  unshiftAll(batch: readonly T[]): void {
    this.reserve(this.size + batch.length);
    const mask = this.items.length - 1;
    this.head = (this.head - batch.length) & mask;
    for (let i = 0; i < batch.length; i++) this.items[(this.head + i) & mask] = batch[i];
    this.size += batch.length;
  }

  /** Grow (doubling, re-laid from index 0) until `capacity` items fit. */
  private reserve(capacity: number): void {
    if (capacity <= this.items.length) return;
    let next = this.items.length * 2;
    while (next < capacity) next *= 2;
    const items = new Array<T | undefined>(next);
    const mask = this.items.length - 1;
    for (let i = 0; i < this.size; i++) items[i] = this.items[(this.head + i) & mask];
    this.items = items;
    this.head = 0;
  }
}
