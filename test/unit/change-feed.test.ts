/** The change feed's payloads and subscribers (hub/store/change-feed.ts); the feed itself: hub-change-feed.test.ts. */
import { describe, expect, it } from 'vitest';
import {
  ChangeSubscribers,
  decodeChange,
  encodeChange,
  followChanges,
  MAX_PAYLOAD_BYTES,
  NO_CHANGE_FEED,
} from '../../hub/store/change-feed.ts';
import { SerialQueue } from '../../hub/store/serial-queue.ts';

describe('change payloads', () => {
  it('round-trip; a key that would pass the NOTIFY limit is left out (the others reload the whole store)', () => {
    const small = encodeChange({ store: 'agents', key: 'agent-7', node: 'hub-a#1' });
    expect(decodeChange(small)).toEqual({ store: 'agents', key: 'agent-7', node: 'hub-a#1' });
    const huge = encodeChange({ store: 'agents', key: 'é'.repeat(MAX_PAYLOAD_BYTES), node: 'hub-a#1' });
    expect(Buffer.byteLength(huge)).toBeLessThan(8000);
    expect(decodeChange(huge)).toEqual({ store: 'agents', node: 'hub-a#1' });
  });

  it('anything else on the channel is not a change', () => {
    for (const payload of [undefined, '', 'not json', '42', 'null', '{"store":1,"node":"x"}', '{"store":"a"}']) {
      expect(decodeChange(payload)).toBeUndefined();
    }
    expect(decodeChange('{"store":"a","node":"n","key":5}')).toBeUndefined();
  });
});

describe('change subscribers', () => {
  it('run per store, count a reload when its promise settles, and report a failing one without stopping others', async () => {
    const reloaded: string[] = [];
    const errors: string[] = [];
    const subscribers = new ChangeSubscribers(
      (err, store) => errors.push(`${store}: ${(err as Error).message}`),
      (store) => reloaded.push(store),
    );
    const seen: Array<string | undefined> = [];
    subscribers.add('agents', () => {
      throw new Error('boom');
    });
    const off = subscribers.add('agents', (key) => {
      seen.push(key);
    });
    subscribers.add('adoption', () => Promise.reject(new Error('db down')));
    subscribers.emit('agents', 'a1');
    subscribers.emit('other', 'x');
    subscribers.emitAll();
    await Promise.resolve();
    expect(seen).toEqual(['a1', undefined]);
    expect(errors).toEqual(['agents: boom', 'agents: boom', 'adoption: db down']);
    expect(reloaded).toEqual(['agents', 'agents']);
    off();
    subscribers.emit('agents', 'a2');
    expect(seen).toEqual(['a1', undefined]);
  });

  it('followChanges reloads one key or everything, in order on the view queue', async () => {
    const subscribers = new ChangeSubscribers(() => {});
    const feed = { ...NO_CHANGE_FEED, subscribe: subscribers.add.bind(subscribers) };
    const order: string[] = [];
    const queue = new SerialQueue(() => {});
    followChanges(feed, 'watches', queue, {
      one: async (key) => {
        order.push(`one ${key}`);
      },
      all: async () => {
        order.push('all');
      },
    });
    void queue.push(async () => {
      order.push('own write');
    });
    subscribers.emit('watches', 'SN1');
    subscribers.emitAll();
    await queue.idle();
    expect(order).toEqual(['own write', 'one SN1', 'all']);
  });
});
