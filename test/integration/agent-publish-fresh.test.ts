/**
 * The agent publishes a health record it just wrote to the outbox from memory, without reading the row back
 * (agent/mqtt-link.ts `publishAppended`), in order, and still acks (deletes) every row once the broker has it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAgent } from '../../agent/agent.ts';
import { Outbox } from '../../agent/outbox.ts';
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
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('agent publish path', () => {
  it('steady state: records go out without outbox reads, in seq order, and the outbox drains', async () => {
    const broker = await startBroker(0);
    cleanups.push(broker.close);
    const sim = await startSimFleet({ devices: 3, seed: 9, models: ['StudioX30'], tuning: { autoCalls: false } });
    cleanups.push(sim.close);
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const config = agentConfigForFleet(sim.fleet.devices(), broker.url, tmp.dir, { pollIntervalMs: 1000 });
    const hub = await recordTopics(broker.url, 'hezo/v1/+/+/health/#');
    cleanups.push(hub.close);
    const agent = createAgent(config, { logger: silentLogger, reconnectMinMs: 50, reconnectMaxMs: 200 });
    cleanups.push(() => agent.stop());
    await agent.start();
    await waitFor(() => hub.messages.length >= 3, 10_000, 'first round of health');

    const reads = vi.spyOn(Outbox.prototype, 'readAfter');
    const before = hub.messages.length;
    await waitFor(() => hub.messages.length >= before + 6, 10_000, 'two more rounds');
    expect(reads).not.toHaveBeenCalled();

    const seqs = hub.messages.map((m) => decodeMessage('health', m.payload).seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    await agent.stop();
    const outbox = new Outbox(config.dataDir, 1000);
    outbox.open();
    cleanups.push(() => outbox.close());
    expect(outbox.depth).toBe(0);
  });
});
