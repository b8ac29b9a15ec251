/**
 * The REST cadence against the simulated fleet (agent config `restIntervalMs`, agent/poll/rest-cadence.ts), on an
 * injected clock: SNMP on every poll, REST at most every `restIntervalMs` while SNMP shows nothing new (the polls
 * between carry the last read, with its time as evidence and the uptime advanced); REST at once when SNMP shows a
 * change, and on every poll while a component shows a problem; a fault only REST shows is seen at the next read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../agent/agent.ts';
import type { DevicePoller } from '../../agent/device-poller.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { HealthRecord } from '../../protocols/health.ts';
import type { SimNetworkDeviceInfo } from '../../simulator/fleet.ts';
import { agentConfigForFleet, silentLogger, tempDir } from '../helpers/agent-harness.ts';
import { networked, startSimFleet } from '../helpers/sim-clients.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(overrides: Record<string, unknown> = {}) {
  const sim = await startSimFleet({ devices: 1, seed: 5, models: ['StudioX50'], tuning: { autoCalls: false } });
  cleanups.push(sim.close);
  const tmp = tempDir();
  cleanups.push(tmp.close);
  // retries 0: a failed read never waits on the (manual) clock
  const config = agentConfigForFleet(sim.fleet.devices(), 'mqtt://127.0.0.1:1', tmp.dir, {
    pollIntervalMs: 10_000,
    retries: 0,
    ...overrides,
  });
  const clock = new ManualClock(Date.parse('2026-11-30T10:00:00Z'));
  const agent = createAgent(config, { logger: silentLogger, clock });
  cleanups.push(() => agent.stop());
  const device = networked(sim.fleet.devices())[0] as SimNetworkDeviceInfo;
  return { sim, agent, clock, device };
}

async function poll(agent: Agent): Promise<HealthRecord> {
  const [record] = await agent.pollOnce();
  return HealthRecord.parse(record);
}

/** The next poll, `ms` later on the agent's clock. */
function pollAfter(agent: Agent, clock: ManualClock, ms: number): Promise<HealthRecord> {
  clock.advance(ms);
  return poll(agent);
}

const readAt = (r: HealthRecord) => r.evidence.find((e) => e.field === 'rest.readAt')?.value;

describe('REST cadence against the simulated fleet', () => {
  it('carries the last REST read between reads: its time as evidence, uptime advanced, SNMP fresh', async () => {
    const { agent, clock } = await setup();
    const first = await poll(agent);
    expect(readAt(first)).toBeUndefined();
    expect(first.reachability.rest?.ok).toBe(true);
    const second = await pollAfter(agent, clock, 10_000);
    expect(readAt(second)).toBe(first.observedAt);
    expect(second.reachability.rest?.ok).toBe(true);
    expect(second.reachability.snmp?.ok).toBe(true);
    expect(second.uptimeS).toBe((first.uptimeS ?? 0) + 10);
    expect(second.components.map((c) => [c.name, c.status])).toEqual(first.components.map((c) => [c.name, c.status]));
    const due = await pollAfter(agent, clock, 50_000);
    expect(readAt(due)).toBeUndefined();
  });

  it('a fault only REST shows (garbage answers) is seen at the next due read, not before', async () => {
    const { agent, clock, sim, device } = await setup({ restIntervalMs: 30_000 });
    await poll(agent);
    sim.fleet.injectFault(device.serial, { kind: 'garbage' });
    const carried = await pollAfter(agent, clock, 10_000);
    expect(carried.reachability.rest?.ok).toBe(true);
    const read = await pollAfter(agent, clock, 20_000);
    expect(read.reachability.rest?.ok).toBe(false);
    expect(['parse', 'http']).toContain(read.reachability.rest?.error?.kind);
    // a failed read is not carried: the next poll reads REST again at once
    const again = await pollAfter(agent, clock, 10_000);
    expect(readAt(again)).toBeUndefined();
    expect(again.reachability.rest?.ok).toBe(false);
  });

  it('SNMP showing a change (camera unplugged) reads REST in the same poll, and on every poll while it lasts', async () => {
    const { agent, clock, sim, device } = await setup();
    await poll(agent);
    sim.fleet.injectFault(device.serial, { kind: 'camera-disconnected' });
    const changed = await pollAfter(agent, clock, 10_000);
    expect(readAt(changed)).toBeUndefined();
    expect(changed.components.some((c) => c.kind === 'camera' && c.source === 'rest' && c.status === 'failed')).toBe(
      true,
    );
    const next = await pollAfter(agent, clock, 10_000);
    expect(readAt(next)).toBeUndefined();
  });

  it('a call: its start and end read REST at once (SNMP conference count), its statistics in between on the cadence', async () => {
    const { agent, clock, sim, device } = await setup({ restIntervalMs: 30_000 });
    await poll(agent);
    sim.fleet.startCall(device.serial, { lossPct: 7 });
    const started = await pollAfter(agent, clock, 10_000);
    expect(readAt(started)).toBeUndefined();
    expect(started.call).toMatchObject({ inCall: true });
    expect(started.call?.packetLossPct).toBeGreaterThan(0);
    const during = await pollAfter(agent, clock, 10_000);
    expect(readAt(during)).toBe(started.observedAt);
    expect(during.call).toMatchObject({ inCall: true, packetLossPct: started.call?.packetLossPct });
    expect(readAt(await pollAfter(agent, clock, 20_000))).toBeUndefined();
    sim.fleet.endCall(device.serial);
    const ended = await pollAfter(agent, clock, 10_000);
    expect(readAt(ended)).toBeUndefined();
    expect(ended.call?.inCall).toBe(false);
  });

  it('a forced read (what a trap, a liveness miss or a command asks for) reads REST at the next poll', async () => {
    const { agent, clock, sim, device } = await setup();
    await poll(agent);
    sim.fleet.injectFault(device.serial, { kind: 'garbage' });
    const carried = await pollAfter(agent, clock, 10_000);
    expect(carried.reachability.rest?.ok).toBe(true);
    // the agent's own wiring calls this on a trap, a confirmed liveness miss and a command's poll (agent.ts)
    const pollers = (agent as unknown as { pollers: Map<string, DevicePoller> }).pollers;
    pollers.get(device.serial)?.requestRestRead();
    const forced = await pollAfter(agent, clock, 10_000);
    expect(readAt(forced)).toBeUndefined();
    expect(forced.reachability.rest?.ok).toBe(false);
  });

  it('restIntervalMs 0 reads REST on every poll', async () => {
    const { agent, clock } = await setup({ restIntervalMs: 0 });
    await poll(agent);
    for (let i = 0; i < 3; i++) {
      expect(readAt(await pollAfter(agent, clock, 10_000))).toBeUndefined();
    }
  });
});
