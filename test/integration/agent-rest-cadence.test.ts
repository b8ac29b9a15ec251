/**
 * The REST cadence against the simulated fleet (agent config `restIntervalMs`, agent/poll/rest-cadence.ts), on an
 * injected clock: SNMP on every poll, REST at most every `restIntervalMs` while SNMP shows nothing new (the polls
 * between carry the last read, with its time as evidence and the uptime advanced); REST at once when SNMP shows a
 * change, and on every poll while a component shows a problem; a fault only REST shows is seen at the next read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../agent/agent.ts';
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

const readAt = (r: HealthRecord) => r.evidence.find((e) => e.field === 'rest.readAt')?.value;

describe('REST cadence against the simulated fleet', () => {
  it('carries the last REST read between reads: its time as evidence, uptime advanced, SNMP fresh', async () => {
    const { agent, clock } = await setup();
    const first = await poll(agent);
    expect(readAt(first)).toBeUndefined();
    expect(first.reachability.rest?.ok).toBe(true);
    clock.advance(10_000);
    const second = await poll(agent);
    expect(readAt(second)).toBe(first.observedAt);
    expect(second.reachability.rest?.ok).toBe(true);
    expect(second.reachability.snmp?.ok).toBe(true);
    expect(second.uptimeS).toBe((first.uptimeS ?? 0) + 10);
    expect(second.components.map((c) => [c.name, c.status])).toEqual(first.components.map((c) => [c.name, c.status]));
    clock.advance(50_000);
    const due = await poll(agent);
    expect(readAt(due)).toBeUndefined();
  });

  it('a fault only REST shows (garbage answers) is seen at the next due read, not before', async () => {
    const { agent, clock, sim, device } = await setup({ restIntervalMs: 30_000 });
    await poll(agent);
    sim.fleet.injectFault(device.serial, { kind: 'garbage' });
    clock.advance(10_000);
    const carried = await poll(agent);
    expect(carried.reachability.rest?.ok).toBe(true);
    clock.advance(20_000);
    const read = await poll(agent);
    expect(read.reachability.rest?.ok).toBe(false);
    expect(['parse', 'http']).toContain(read.reachability.rest?.error?.kind);
    // a failed read is not carried: the next poll reads REST again at once
    clock.advance(10_000);
    const again = await poll(agent);
    expect(readAt(again)).toBeUndefined();
    expect(again.reachability.rest?.ok).toBe(false);
  });

  it('SNMP showing a change (camera unplugged) reads REST in the same poll, and on every poll while it lasts', async () => {
    const { agent, clock, sim, device } = await setup();
    await poll(agent);
    sim.fleet.injectFault(device.serial, { kind: 'camera-disconnected' });
    clock.advance(10_000);
    const changed = await poll(agent);
    expect(readAt(changed)).toBeUndefined();
    expect(changed.components.some((c) => c.kind === 'camera' && c.source === 'rest' && c.status === 'failed')).toBe(
      true,
    );
    clock.advance(10_000);
    const next = await poll(agent);
    expect(readAt(next)).toBeUndefined();
  });

  it('a call: its start and end read REST at once (SNMP conference count), its statistics in between on the cadence', async () => {
    const { agent, clock, sim, device } = await setup({ restIntervalMs: 30_000 });
    await poll(agent);
    sim.fleet.startCall(device.serial, { lossPct: 7 });
    clock.advance(10_000);
    const started = await poll(agent);
    expect(readAt(started)).toBeUndefined();
    expect(started.call).toMatchObject({ inCall: true });
    expect(started.call?.packetLossPct).toBeGreaterThan(0);
    clock.advance(10_000);
    const during = await poll(agent);
    expect(readAt(during)).toBe(started.observedAt);
    expect(during.call).toMatchObject({ inCall: true, packetLossPct: started.call?.packetLossPct });
    clock.advance(20_000);
    expect(readAt(await poll(agent))).toBeUndefined();
    sim.fleet.endCall(device.serial);
    clock.advance(10_000);
    const ended = await poll(agent);
    expect(readAt(ended)).toBeUndefined();
    expect(ended.call?.inCall).toBe(false);
  });

  it('restIntervalMs 0 reads REST on every poll', async () => {
    const { agent, clock } = await setup({ restIntervalMs: 0 });
    await poll(agent);
    for (let i = 0; i < 3; i++) {
      clock.advance(10_000);
      expect(readAt(await poll(agent))).toBeUndefined();
    }
  });
});
