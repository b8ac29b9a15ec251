/**
 * Chaos (b): the accounting equation. Every health record the agent produced (its outbox `seq`) is either
 * delivered to the detector (`ingest:health`, counted once per seq) or dropped by policy (the outbox's bounded
 * size: oldest rows dropped and counted) - exactly, across hub restarts (embedded broker) and agent restarts,
 * with one hub outage long enough to overflow the outbox. lost = produced - delivered - dropped must be 0.
 */
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.ts';
import { HubConfig } from '../../hub/config.ts';
import { createHub, type Hub } from '../../hub/hub.ts';
import { buildConfig } from '../../protocols/config-common.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { IS_LONG, recordChaosResult, rounds } from './harness.ts';
import { type ChaosWorld, startChaosWorld } from './world.ts';

const OUTBOX_MAX = 20;
const ROUNDS = rounds(1, 4);
let world: ChaosWorld | undefined;
let hub: Hub | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  await agent?.stop();
  await hub?.stop();
  await world?.close();
  agent = undefined;
  hub = undefined;
  world = undefined;
});

describe('chaos: accounting across hub and agent restarts', () => {
  it(`${ROUNDS} round(s): produced = delivered + dropped-by-policy, nothing lost`, async () => {
    const w = await startChaosWorld({
      devices: IS_LONG ? 8 : 4,
      seed: 23,
      agent: { outbox: { maxRecords: OUTBOX_MAX } },
    });
    world = w;
    const config = buildConfig(HubConfig, { ...w.hubConfig, logLevel: 'silent' }) as HubConfig;
    const delivered = new Set<number>();
    let deliveries = 0;
    const startHub = async () => {
      const h = createHub(config, { logger: pino({ level: 'silent' }) });
      h.ctx.bus.on('ingest:health', (inbound) => {
        deliveries++;
        delivered.add(inbound.message.seq);
      });
      await h.start();
      hub = h;
    };
    const stopHub = async () => {
      await hub?.stop();
      hub = undefined;
    };
    const waitRecords = async (n: number) => {
      const target = delivered.size + n;
      await waitFor(() => delivered.size >= target, { timeoutMs: 30_000, what: `${n} more records` });
    };
    await startHub();
    agent = await w.startAgent();
    await waitRecords(w.devices.length * 2);
    for (let round = 0; round < ROUNDS; round++) {
      // A short hub outage (buffered, replayed in order), then an agent restart, then an outage long enough to
      // overflow the outbox (the oldest rows are dropped and counted).
      await stopHub();
      await delay(2000);
      await startHub();
      await waitRecords(w.devices.length);
      await agent.stop();
      agent = await w.startAgent();
      await waitRecords(w.devices.length);
      await stopHub();
      const before = agent.stats.outboxDropped;
      await waitFor(() => agent!.stats.outboxDropped > before, { timeoutMs: 30_000, what: 'an outbox overflow' });
      await startHub();
      await waitRecords(w.devices.length);
    }
    await agent.stop();
    agent = undefined;
    // Everything the agent still held was published before it stopped or stays in its outbox: read its books.
    const outbox = new Database(join(w.agentConfig.dataDir, 'outbox.db'), { readonly: true });
    const meta = new Map(
      (outbox.prepare('SELECT k, v FROM meta').all() as Array<{ k: string; v: number }>).map((r) => [r.k, r.v]),
    );
    const waiting = outbox.prepare("SELECT payload FROM outbox WHERE kind = 'health'").all() as Array<{
      payload: string;
    }>;
    outbox.close();
    const produced = meta.get('seq') ?? 0;
    const dropped = meta.get('dropped') ?? 0;
    const stillWaiting = waiting
      .map((r) => (JSON.parse(r.payload) as { seq: number }).seq)
      .filter((s) => !delivered.has(s));
    const lost = produced - delivered.size - dropped - stillWaiting.length;
    recordChaosResult({
      kind: 'hub + agent restarts (embedded broker)',
      rounds: ROUNDS,
      survived: lost === 0 ? ROUNDS : 0,
      produced,
      delivered: delivered.size,
      droppedByPolicy: dropped,
      lost,
      note: `${deliveries - delivered.size} at-least-once re-deliveries (same seq), ${stillWaiting.length} still in the outbox at the end`,
    });
    expect(dropped).toBeGreaterThan(0);
    expect(lost).toBe(0);
  });
});
