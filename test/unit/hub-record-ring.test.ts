/**
 * The per-device ring of recent records as bytes (hub/outage/record-ring.ts) keeps exactly what a plain array of
 * strings kept: the newest `capacity` records in observedAt order (late ones put in their place), any text
 * or bytes (multi-byte UTF-8, records that grow, records over BIG_BYTES), checked against that simple model with fast-check.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BIG_BYTES, RecordRing } from '../../hub/outage/record-ring.ts';

const RUNS = Number(process.env.HEZO_FUZZ_RUNS ?? 300);

/** The behaviour of the ring before it kept bytes: an array of {observedAt, json}, oldest first. */
function modelPush(model: Array<{ at: string; json: string }>, capacity: number, at: string, json: string): void {
  model.push({ at, json });
  for (let i = model.length - 1; i > 0 && model[i - 1]!.at > at; i--) {
    const entry = model[i]!;
    model[i] = model[i - 1]!;
    model[i - 1] = entry;
  }
  if (model.length > capacity) model.shift();
}

const iso = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();

describe('RecordRing', () => {
  it('keeps the newest records, newest first, and drops the oldest past its capacity', () => {
    const ring = new RecordRing(3);
    expect(ring.textsNewestFirst()).toEqual([]);
    for (let i = 1; i <= 5; i++) ring.push(iso(i), `{"seq":${i}}`);
    expect(ring.size).toBe(3);
    expect(ring.textsNewestFirst()).toEqual(['{"seq":5}', '{"seq":4}', '{"seq":3}']);
  });

  it('puts a late (replayed) record in observedAt order', () => {
    const ring = new RecordRing(4);
    ring.push(iso(10), 'a');
    ring.push(iso(30), 'c');
    ring.push(iso(20), 'b');
    expect(ring.textsNewestFirst()).toEqual(['c', 'b', 'a']);
  });

  it('grows its slots for a larger record and keeps the smaller ones intact', () => {
    const ring = new RecordRing(5);
    ring.push(iso(1), 'x'.repeat(100));
    ring.push(iso(2), 'y'.repeat(5000));
    ring.push(iso(3), 'z'.repeat(10));
    expect(ring.textsNewestFirst()).toEqual(['z'.repeat(10), 'y'.repeat(5000), 'x'.repeat(100)]);
  });

  it('keeps multi-byte text exactly, also when it fills a slot to the last byte', () => {
    const ring = new RecordRing(2);
    ring.push(iso(1), 'a'.repeat(126));
    // 127 UTF-16 units but 129 bytes: does not fit the 128-byte slot sized for the first record.
    const text = `${'b'.repeat(125)}żł`;
    ring.push(iso(2), text);
    expect(ring.textsNewestFirst()).toEqual([text, 'a'.repeat(126)]);
  });

  it('copies a record given as UTF-8 bytes (the MQTT payload) and keeps no reference to them', () => {
    const ring = new RecordRing(3);
    const payload = Buffer.from('{"name":"Sala żółta"}');
    ring.push(iso(1), payload);
    payload.fill(0x20);
    expect(ring.textsNewestFirst()).toEqual(['{"name":"Sala żółta"}']);
  });

  it('keeps a record over BIG_BYTES as text', () => {
    const ring = new RecordRing(2);
    const big = `"${'q'.repeat(BIG_BYTES + 10)}"`;
    ring.push(iso(1), 'small');
    ring.push(iso(2), big);
    ring.push(iso(3), 'after');
    expect(ring.textsNewestFirst()).toEqual(['after', big]);
  });

  it('matches the array-of-strings model for any sequence of records', () => {
    const record = fc.record({
      at: fc.integer({ min: 0, max: 50 }),
      asBytes: fc.boolean(),
      json: fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.integer({ min: 0, max: 3000 }).map((n) => 'w'.repeat(n)),
      ),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(record, { maxLength: 60 }), (capacity, records) => {
        const ring = new RecordRing(capacity);
        const model: Array<{ at: string; json: string }> = [];
        for (const r of records) {
          ring.push(iso(r.at), r.asBytes ? Buffer.from(r.json) : r.json);
          modelPush(model, capacity, iso(r.at), r.json);
        }
        expect(ring.size).toBe(model.length);
        expect(ring.textsNewestFirst()).toEqual(model.map((e) => e.json).reverse());
      }),
      { numRuns: RUNS },
    );
  });
});
