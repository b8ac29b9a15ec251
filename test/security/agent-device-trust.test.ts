/**
 * Issue 13, agent side: an on-path attacker between the agent and a device (or an impostor on the device's
 * address) never gets a device password. Real parts: the simulated fleet (HTTPS, SNMP), ssh2 servers, an aedes
 * broker with the agent publishing over MQTT, commands sent the way the hub sends them.
 *
 * - SSH: the host key is trusted on first use and pinned; an impostor with another key on the same address
 *   sees a key exchange but no authentication attempt at all (diagnose AND the log-collection fallback), an
 *   `ssh-host-key-changed` event is published once, and only an admin's `accept-identity` lets the new key in.
 * - REST: dropping replies (SNMP and REST timeouts) or refusing connects does not arm anything: a new
 *   certificate presented afterwards is refused before any HTTP byte (no login), and reported. A real reboot
 *   (uptime reset) lets the device's new certificate in, with one `accepted` event.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../agent/agent.ts';
import type { AgentConfig } from '../../protocols/agent-config.ts';
import { type CommandReply, type DeviceEvent, decodeMessage, encodeMessage } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import type { SimNetworkDeviceInfo } from '../../simulator/fleet.ts';
import {
  agentConfigForFleet,
  type Recorder,
  recordTopics,
  silentLogger,
  startBroker,
  tempDir,
  waitFor,
} from '../helpers/agent-harness.ts';
import {
  type RecordingSshServer,
  startImpostorHttps,
  startRecordingSsh,
  startTcpSwitch,
  startUdpRelay,
} from '../helpers/on-path.ts';
import { networked, startSimFleet } from '../helpers/sim-clients.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(deviceOverrides: (d: SimNetworkDeviceInfo) => Promise<Record<string, unknown>>) {
  const sim = await startSimFleet({ devices: 1, seed: 13, models: ['StudioX50'], tuning: { autoCalls: false } });
  cleanups.push(sim.close);
  const device = networked(sim.fleet.devices())[0] as SimNetworkDeviceInfo;
  const broker = await startBroker();
  cleanups.push(() => broker.close());
  const hub = await recordTopics(broker.url, 'hezo/v1/#');
  cleanups.push(() => hub.close());
  const tmp = tempDir();
  cleanups.push(tmp.close);
  const overrides = await deviceOverrides(device);
  // one scheduled poll at start; the test drives the rest with pollOnce and commands
  const config = agentConfigForFleet(
    sim.fleet.devices(),
    broker.url,
    tmp.dir,
    { pollIntervalMs: 3_600_000 },
    () => overrides,
  );
  const agent = createAgent(config, { logger: silentLogger });
  cleanups.push(() => agent.stop());
  await agent.start();
  await waitFor(() => hub.on('/health/').length > 0, 10_000, 'first health record');
  return { sim, device, hub, agent, config };
}

function commander(hub: Recorder, config: AgentConfig, serial: string) {
  let n = 0;
  return async (
    kind: 'diagnose' | 'collect-logs' | 'accept-identity',
    extra: Record<string, unknown> = {},
  ): Promise<CommandReply> => {
    const id = `cmd-sec-${++n}`;
    await hub.client.publishAsync(
      topics.command(config.site, config.agentId),
      encodeMessage('cmd', {
        v: 1,
        id,
        kind,
        serial,
        issuedAt: new Date().toISOString(),
        timeoutMs: 20_000,
        ...extra,
      }),
      { qos: 1 },
    );
    return waitFor(
      () =>
        hub
          .on('/reply')
          .map((m) => decodeMessage('reply', m.payload))
          .find((r) => r.id === id),
      20_000,
      `reply to ${kind}`,
    );
  };
}

const eventsOf = (hub: Recorder, type: DeviceEvent['type']) =>
  hub
    .on('/event/')
    .map((m) => decodeMessage('event', m.payload))
    .filter((e) => e.type === type);

type ServiceTestView = { name: string; ok: boolean; error: { kind: string; message: string } | null };
const sshTest = (reply: CommandReply) =>
  ((reply.ok ? reply.data.tests : []) as ServiceTestView[]).find((t) => t.name === 'ssh-status');

describe('agent trust in devices (on-path attacker, impostor)', () => {
  it('SSH impostor on the device address: no password in diagnose nor in the log fallback; admin accept lets it in', async () => {
    let genuine: RecordingSshServer | undefined;
    let relayPort = 0;
    const { device, hub, agent, config } = await world(async (d) => {
      genuine = await startRecordingSsh(d.password);
      const relay = await startUdpRelay(d.snmpPort);
      cleanups.push(() => relay.close());
      relayPort = relay.port;
      return {
        channels: ['snmp', 'ssh'],
        snmp: { port: relay.port, version: '2c', community: d.snmpCommunity },
        ssh: { port: genuine.port, username: d.username, password: d.password },
      };
    });
    expect(relayPort).toBeGreaterThan(0);
    const real = genuine as RecordingSshServer;
    cleanups.push(() => real.close());
    const send = commander(hub, config, device.serial);

    // first use: the genuine device's key is learned, and the recorder sees the password (it can see one)
    const first = await send('diagnose');
    expect(sshTest(first)).toMatchObject({ ok: true });
    expect(real.attempts.some((a) => a.password === device.password)).toBe(true);

    // the impostor takes the device's SSH address and port, with its own host key
    await real.close();
    const impostor = await startRecordingSsh(device.password, real.port);
    cleanups.push(() => impostor.close());

    const diagnose = await send('diagnose');
    expect(diagnose.ok).toBe(true);
    expect(sshTest(diagnose)).toMatchObject({ ok: false, error: { kind: 'ssh' } });
    expect(sshTest(diagnose)?.error?.message).toMatch(/host key changed .* refused/);

    const logs = await send('collect-logs');
    expect(logs.ok).toBe(true);
    const note = (logs.ok ? logs.data.logs : {}) as { freshError?: string };
    expect(note.freshError).toMatch(/host key changed/);

    // the agent reached the impostor (key exchange) both times, and never authenticated: no password
    expect(impostor.connections).toBeGreaterThanOrEqual(2);
    expect(impostor.attempts).toEqual([]);
    const changed = await waitFor(() => eventsOf(hub, 'ssh-host-key-changed')[0], 5000, 'ssh-host-key-changed');
    expect(changed.detail).toMatch(/refused/);
    expect(eventsOf(hub, 'ssh-host-key-changed')).toHaveLength(1);
    expect(agent.stats.identityChanges).toEqual({ accepted: 0, refused: 1 });

    // an admin accepts the new key (fingerprint as the event gave it): from then on it is used
    const fingerprint = /now (SHA256:[A-Za-z0-9+/]+)\)/.exec(changed.detail)?.[1];
    expect(fingerprint).toBeDefined();
    const bad = await send('accept-identity', { identity: { channel: 'ssh', fingerprint: 'SHA256:nope' } });
    expect(bad).toMatchObject({ ok: false, code: 'PAYLOAD_INVALID' });
    const accepted = await send('accept-identity', { identity: { channel: 'ssh', fingerprint } });
    expect(accepted).toMatchObject({ ok: true, data: { channel: 'ssh', fingerprint } });
    const after = await send('diagnose');
    expect(sshTest(after)).toMatchObject({ ok: true });
    expect(impostor.attempts.some((a) => a.password === device.password)).toBe(true);
  });

  it('REST on-path: dropped replies and refused connects arm nothing; a new certificate then gets no login', async () => {
    const impostor = await startImpostorHttps();
    cleanups.push(() => impostor.close());
    let relay: Awaited<ReturnType<typeof startUdpRelay>> | undefined;
    let tcp: Awaited<ReturnType<typeof startTcpSwitch>> | undefined;
    const { sim, device, hub, agent } = await world(async (d) => {
      relay = await startUdpRelay(d.snmpPort);
      tcp = await startTcpSwitch(d.restPort, () => impostor.port);
      const r = relay;
      const t = tcp;
      cleanups.push(() => r.close());
      cleanups.push(() => t.close());
      return {
        channels: ['rest', 'snmp'],
        rest: { port: tcp.port, username: d.username, password: d.password, tls: { mode: 'tofu' } },
        snmp: { port: relay.port, version: '2c', community: d.snmpCommunity },
      };
    });
    const snmp = relay as NonNullable<typeof relay>;
    const path = tcp as NonNullable<typeof tcp>;
    const [first] = hub.on('/health/').map((m) => decodeMessage('health', m.payload));
    expect(first?.reachability.rest?.ok).toBe(true);

    // 1. the attacker drops every reply for one poll: REST times out, SNMP times out
    path.mode = 'blackhole';
    path.cutAll();
    snmp.dropNext = 1000;
    const [dropped] = await agent.pollOnce();
    expect(dropped?.reachability.rest).toMatchObject({ ok: false, error: { kind: 'timeout' } });
    expect(dropped?.reachability.snmp).toMatchObject({ ok: false, error: { kind: 'timeout' } });
    // 2. then refuses TCP connects for one poll
    snmp.dropNext = 1000;
    await path.pause();
    const [refused] = await agent.pollOnce();
    expect(refused?.reachability.rest).toMatchObject({ ok: false, error: { kind: 'refused' } });
    snmp.dropNext = 0;
    await path.resume();

    // 3. then presents its own certificate: refused before any HTTP byte, reported once
    path.mode = 'impostor';
    path.cutAll();
    const [attacked] = await agent.pollOnce();
    expect(attacked?.reachability.rest).toMatchObject({ ok: false, error: { kind: 'tls' } });
    expect(attacked?.reachability.rest?.error?.message).toMatch(/certificate changed .* without a reboot/);
    expect(attacked?.reachability.snmp?.ok).toBe(true);
    expect(impostor.handshakes).toBeGreaterThanOrEqual(1);
    expect(impostor.requests).toEqual([]);
    const [again] = await agent.pollOnce();
    expect(again?.reachability.rest?.error?.kind).toBe('tls');
    expect(impostor.requests).toEqual([]);
    const refusedEvent = await waitFor(() => eventsOf(hub, 'certificate-changed')[0], 5000, 'certificate-changed');
    expect(refusedEvent.detail).toMatch(/refused/);
    expect(eventsOf(hub, 'certificate-changed')).toHaveLength(1);
    expect(agent.stats.identityChanges).toEqual({ accepted: 0, refused: 1 });

    // control: a real reboot (uptime reset, seen over SNMP) lets the device's new certificate in, one event
    path.mode = 'forward';
    path.cutAll();
    const booted = once(sim.fleet, 'boot');
    sim.fleet.injectFault(device.serial, { kind: 'reboot', durationMs: 200 });
    await booted;
    const [back] = await agent.pollOnce();
    expect(back?.reachability.rest, JSON.stringify(back?.reachability)).toMatchObject({ ok: true });
    await waitFor(() => eventsOf(hub, 'certificate-changed').length === 2, 5000, 'accepted event');
    expect(eventsOf(hub, 'certificate-changed')[1]?.detail).toMatch(/uptime reset\); new one accepted/);
    expect(agent.stats.identityChanges).toEqual({ accepted: 1, refused: 1 });
    expect(impostor.requests).toEqual([]);
  });
});
