/** The external broker's per-agent pacing: at most N per one-second window per agent, the rest wait (never dropped). */
import { describe, expect, it } from 'vitest';
import { AgentPacer } from '../../hub/broker/agent-pacer.ts';
import { ManualClock } from '../../protocols/clock.ts';

describe('AgentPacer', () => {
  it('lets N messages of one agent in per window, then says how long to wait; other agents are not held', () => {
    const clock = new ManualClock(1_000_000);
    const pacer = new AgentPacer(3, clock);
    expect([1, 2, 3].map(() => pacer.delayFor('a'))).toEqual([0, 0, 0]);
    clock.advance(250);
    expect(pacer.delayFor('a')).toBe(750);
    expect(pacer.delayFor('b')).toBe(0);
    clock.advance(750);
    expect(pacer.delayFor('a')).toBe(0);
  });
});
