/** The hub's event bus: order, isolation of a throwing listener, and subscribe/unsubscribe during an emit. */
import { describe, expect, it } from 'vitest';
import { HubBus } from '../../hub/events.ts';
import type { SiteAlert } from '../../hub/types.ts';

const alert = (site: string): SiteAlert => ({
  site,
  agentId: 'ag-1',
  status: 'raised',
  serials: [],
  at: '',
  reason: '',
});

describe('HubBus', () => {
  it('calls listeners in subscription order; a throwing one is reported and the others still run', () => {
    const errors: Array<[unknown, string]> = [];
    const bus = new HubBus((err, event) => errors.push([err, event]));
    const seen: string[] = [];
    bus.on('site-alert', (a) => seen.push(`1:${a.site}`));
    bus.on('site-alert', () => {
      throw new Error('boom');
    });
    bus.on('site-alert', (a) => seen.push(`3:${a.site}`));
    bus.emit('site-alert', alert('s1'));
    expect(seen).toEqual(['1:s1', '3:s1']);
    expect(errors.map(([err, event]) => [(err as Error).message, event])).toEqual([['boom', 'site-alert']]);
  });

  it('an emit goes over the listeners as they were when it started; unsubscribing twice is harmless', () => {
    const bus = new HubBus();
    const seen: string[] = [];
    let offB: () => void = () => {};
    const offA = bus.on('site-alert', (a) => {
      seen.push(`A:${a.site}`);
      offB();
      bus.on('site-alert', (b) => seen.push(`late:${b.site}`));
    });
    offB = bus.on('site-alert', (a) => seen.push(`B:${a.site}`));
    bus.emit('site-alert', alert('s1'));
    // B was removed and `late` added during the emit: this emit still called B, not `late`.
    expect(seen).toEqual(['A:s1', 'B:s1']);
    offA();
    offA();
    offB();
    bus.emit('site-alert', alert('s2'));
    expect(seen).toEqual(['A:s1', 'B:s1', 'late:s2']);
  });

  it('the same function subscribed twice runs twice until one subscription ends', () => {
    const bus = new HubBus();
    let n = 0;
    const listener = () => {
      n += 1;
    };
    const off1 = bus.on('site-alert', listener);
    bus.on('site-alert', listener);
    bus.emit('site-alert', alert('s1'));
    expect(n).toBe(2);
    off1();
    bus.emit('site-alert', alert('s1'));
    expect(n).toBe(3);
  });
});
