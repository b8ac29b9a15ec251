/**
 * Issue 19: the agent schedules polls on the monotonic clock. A wall-clock step back by 10 minutes while a
 * poll is in flight must not stall that device's poller (it used to wait ~10 min for its next poll).
 * Real agent, real simulated device, real aedes broker; time is a ManualClock whose wall clock is stepped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../agent/agent.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { decodeMessage } from '../../protocols/messages.ts';
import {
  agentConfigForFleet,
  recordTopics,
  silentLogger,
  startBroker,
  tempDir,
  waitFor,
} from '../helpers/agent-harness.ts';
import { startSimFleet } from '../helpers/sim-clients.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('agent: wall-clock steps never stall a poller', () => {
  for (const stepMs of [-600_000]) {
    it(`a step of ${stepMs / 60_000} min during a poll: the next poll still comes one interval later`, async () => {
      const broker = await startBroker();
      cleanups.push(broker.close);
      const sim = await startSimFleet({ devices: 1, seed: 7, models: ['StudioX30'], tuning: { autoCalls: false } });
      cleanups.push(sim.close);
      const tmp = tempDir();
      cleanups.push(tmp.close);
      const config = agentConfigForFleet(sim.fleet.devices(), broker.url, tmp.dir, { pollIntervalMs: 10_000 });
      const hub = await recordTopics(broker.url, 'hezo/v1/+/+/health/#');
      cleanups.push(hub.close);
      const clock = new ManualClock('2026-03-02T10:00:00.000Z');
      const agent = createAgent(config, { logger: silentLogger, clock, reconnectMinMs: 50, reconnectMaxMs: 200 });
      cleanups.push(() => agent.stop());
      await agent.start();
      // The first poll is in flight (scheduled at 0); the wall clock steps while it runs.
      clock.advance(0);
      clock.stepWall(stepMs);
      await waitFor(() => hub.messages.length >= 1, 15_000, 'the first record');
      clock.advance(10_000);
      await waitFor(() => hub.messages.length >= 2, 15_000, 'the next poll one interval later');
      clock.advance(10_000);
      await waitFor(() => hub.messages.length >= 3, 15_000, 'the poll after');
      const stamps = hub.messages.map((m) => Date.parse(decodeMessage('health', m.payload).observedAt));
      // Records carry the (stepped) wall clock, as they must: the hub measures and corrects the offset.
      expect(stamps[2]! - stamps[1]!).toBe(10_000);
    });
  }
});
