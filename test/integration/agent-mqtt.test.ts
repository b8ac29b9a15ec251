/**
 * The agent publishing to a real aedes broker on loopback while polling the simulated fleet:
 * health for every device, presence and Last Will, heartbeat; the hub unreachable for a while (outbox,
 * order, replayed flag); a restart with a full outbox; commands with attachments (diagnose, collect-logs, resume).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../agent/agent.ts';
import { assembleChunks } from '../../agent/attachments.ts';
import type { AgentConfig } from '../../protocols/agent-config.ts';
import { type AttachmentChunk, type CommandReply, decodeMessage, encodeMessage } from '../../protocols/messages.ts';
import { listArchive } from '../../protocols/redact.ts';
import { topics } from '../../protocols/topics.ts';
import {
  agentConfigForFleet,
  recordTopics,
  silentLogger,
  startBroker,
  tempDir,
  waitFor,
} from '../helpers/agent-harness.ts';
import { networked, startSimFleet } from '../helpers/sim-clients.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(opts: { devices?: number; overrides?: Record<string, unknown>; brokerPort?: number } = {}) {
  const broker = await startBroker(opts.brokerPort ?? 0);
  cleanups.push(broker.close);
  const sim = await startSimFleet({
    devices: opts.devices ?? 2,
    seed: 5,
    models: ['StudioX30'],
    tuning: { autoCalls: false },
  });
  cleanups.push(sim.close);
  const tmp = tempDir();
  cleanups.push(tmp.close);
  const config = agentConfigForFleet(sim.fleet.devices(), broker.url, tmp.dir, opts.overrides ?? {});
  const hub = await recordTopics(broker.url, 'hezo/v1/#');
  cleanups.push(hub.close);
  return { broker, sim, config, hub, dataDir: tmp.dir };
}

function startAgent(config: Readonly<AgentConfig>): Agent {
  const agent = createAgent(config, { logger: silentLogger, reconnectMinMs: 50, reconnectMaxMs: 200 });
  cleanups.push(() => agent.stop());
  return agent;
}

describe('agent over MQTT (aedes)', () => {
  it('publishes valid health for every device, retained online presence, heartbeat; offline on clean stop', async () => {
    const { config, hub, broker } = await world({ devices: 3 });
    const agent = startAgent(config);
    await agent.start();
    const serials = config.devices.map((d) => d.serial);
    await waitFor(() => serials.every((s) => hub.on(`/health/${s}`).length > 0), 8000, 'health for every device');
    for (const m of hub.on('/health/')) {
      const record = decodeMessage('health', m.payload);
      expect(m.topic).toBe(topics.health(config.site, config.agentId, record.identity.serial));
      expect(record.replayed).toBe(false);
      expect(record.reachability.rest?.ok).toBe(true);
    }
    const online = decodeMessage('presence', hub.on('/presence')[0]!.payload);
    expect(online).toMatchObject({ status: 'online', devices: serials });
    await waitFor(() => hub.on('/heartbeat').length > 0, 3000, 'heartbeat');
    expect(decodeMessage('heartbeat', hub.on('/heartbeat')[0]!.payload).outboxDepth).toBeGreaterThanOrEqual(0);
    await agent.stop();
    await waitFor(
      () => hub.on('/presence').some((m) => decodeMessage('presence', m.payload).status === 'offline'),
      3000,
      'offline',
    );
    // retained: a late subscriber sees offline
    const late = await recordTopics(broker.url, topics.presence(config.site, config.agentId));
    cleanups.push(late.close);
    await waitFor(() => late.messages.length > 0, 3000, 'retained presence');
    expect(late.messages[0]?.retain).toBe(true);
    expect(decodeMessage('presence', late.messages[0]!.payload).status).toBe('offline');
  });

  it('hub unreachable for a while: records are kept, replayed in order with replayed:true, none lost', async () => {
    const { config, hub, broker } = await world({ devices: 2 });
    const agent = startAgent(config);
    const produced: number[] = [];
    agent.on('record', (r) => produced.push(r.seq));
    await agent.start();
    await waitFor(() => hub.on('/health/').length >= 2, 8000, 'first health');
    const disconnected = new Promise<void>((resolve) => agent.on('disconnected', resolve));
    await broker.stop();
    await disconnected;
    const mark = produced.length;
    await waitFor(() => produced.length >= mark + 4, 8000, 'records while the hub is down');
    expect(agent.stats.outboxDepth).toBeGreaterThanOrEqual(4);
    broker.admit = (id) => id.startsWith('rec-');
    await broker.restart();
    await hub.ready();
    broker.admit = () => true;
    await waitFor(() => agent.stats.connected && agent.stats.outboxDepth === 0, 10_000, 'outbox drained');
    await waitFor(
      () =>
        hub.on('/health/').some((m) => {
          const r = decodeMessage('health', m.payload);
          return r.seq > mark + 4 && !r.replayed;
        }),
      8000,
      'live after replay',
    );
    const received = hub.on('/health/').map((m) => decodeMessage('health', m.payload));
    const seqs = [...new Set(received.map((r) => r.seq))];
    // nothing lost, in order
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
    const ordered = received.map((r) => r.seq);
    expect(ordered).toEqual([...ordered].sort((a, b) => a - b));
    const buffered = received.filter((r) => r.seq >= mark && r.seq < mark + 4);
    expect(buffered.every((r) => r.replayed)).toBe(true);
    expect(received.at(-1)?.replayed).toBe(false);
  });

  it('agent restart with a full outbox: the oldest are dropped and counted, the rest replayed first', async () => {
    const { config, hub, broker } = await world({ devices: 2, overrides: { outbox: { maxRecords: 10 } } });
    await broker.stop();
    const first = startAgent(config);
    const produced: number[] = [];
    first.on('record', (r) => produced.push(r.seq));
    await first.start();
    await waitFor(() => produced.length >= 14, 15_000, 'records produced while offline');
    await first.stop();
    broker.admit = (id) => id.startsWith('rec-');
    await broker.restart();
    await hub.ready();
    broker.admit = () => true;
    const second = startAgent(config);
    await second.start();
    await waitFor(
      () => hub.on('/health/').filter((m) => !decodeMessage('health', m.payload).replayed).length > 0,
      10_000,
      'live',
    );
    const received = hub.on('/health/').map((m) => decodeMessage('health', m.payload));
    const replayed = received.filter((r) => r.replayed);
    expect(replayed.length).toBe(10);
    expect(received.slice(0, 10).every((r) => r.replayed)).toBe(true);
    const maxOld = Math.max(...produced);
    expect(replayed.map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => maxOld - 9 + i));
    expect(received[10]?.seq).toBe(maxOld + 1);
    await waitFor(() => hub.on('/heartbeat').length > 0, 3000, 'heartbeat');
    expect(decodeMessage('heartbeat', hub.on('/heartbeat').at(-1)!.payload).outboxDropped).toBe(produced.length - 10);
  });

  it('commands: poll-now, diagnose (service-tests.json), collect-logs (logs + agent-trace), resume and unknown serial', async () => {
    const { config, hub, sim, broker } = await world({ devices: 1, overrides: { pollIntervalMs: 2000 } });
    const agent = startAgent(config);
    await agent.start();
    const serial = networked(sim.fleet.devices())[0]!.serial;
    await waitFor(() => hub.on('/health/').length > 0, 8000, 'health');
    const cmdTopic = topics.command(config.site, config.agentId);
    const send = (kind: 'poll-now' | 'diagnose' | 'collect-logs', id: string, extra: Record<string, unknown> = {}) =>
      hub.client.publishAsync(
        cmdTopic,
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
    const reply = (id: string) =>
      waitFor(
        () =>
          hub
            .on('/reply')
            .map((m) => decodeMessage('reply', m.payload))
            .find((r) => r.id === id),
        15_000,
        `reply ${id}`,
      );
    const chunks = (transferId: string) =>
      hub
        .on('/attachment')
        .map((m) => decodeMessage('attachment', m.payload))
        .filter((c) => c.transferId === transferId);

    await send('poll-now', 'cmd-poll-1');
    expect(await reply('cmd-poll-1')).toMatchObject({ ok: true, data: { reachability: { rest: { ok: true } } } });

    await send('diagnose', 'cmd-diag-1');
    const diag = (await reply('cmd-diag-1')) as Extract<CommandReply, { ok: true }>;
    expect(diag.ok).toBe(true);
    const tests = diag.data.tests as { name: string; ok: boolean }[];
    expect(tests.map((t) => [t.name, t.ok])).toEqual([
      ['tcp-connect', true],
      ['https-handshake', true],
      ['rest-login', true],
      ['snmp-sysuptime', true],
      ['ssh-status', true],
    ]);
    const diagFile = (diag.data.attachments as { transferId: string }[])[0]!;
    const testsJson = JSON.parse(assembleChunks(chunks(diagFile.transferId)).toString('utf8'));
    expect(testsJson.tests[1].detail.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    await send('collect-logs', 'cmd-logs-1');
    const logs = (await reply('cmd-logs-1')) as Extract<CommandReply, { ok: true }>;
    expect(logs.ok).toBe(true);
    const files = logs.data.attachments as { transferId: string; name: string; kind: string; total: number }[];
    expect(files.map((f) => f.kind)).toEqual(['device-logs', 'agent-trace']);
    const archive = assembleChunks(chunks(files[0]!.transferId));
    expect((await listArchive(archive)).length).toBeGreaterThan(0);
    const password = sim.fleet.devices()[0] && networked(sim.fleet.devices())[0]!.password;
    expect(archive.toString('latin1')).not.toContain(password);
    const trace = JSON.parse(assembleChunks(chunks(files[1]!.transferId)).toString('utf8'));
    expect(trace.records.length).toBeGreaterThan(0);

    // resume: ask again from chunk 0 -> the same transfer is sent again; seq >= total acknowledges it
    const before = chunks(files[1]!.transferId).length;
    await send('collect-logs', 'cmd-logs-2', { resumeFrom: { [files[1]!.transferId]: 0 } });
    expect(await reply('cmd-logs-2')).toMatchObject({
      ok: true,
      data: { resumed: [{ transferId: files[1]!.transferId }] },
    });
    expect(chunks(files[1]!.transferId).length).toBeGreaterThan(before);
    await send('collect-logs', 'cmd-logs-3', { resumeFrom: { [files[1]!.transferId]: files[1]!.total } });
    expect(await reply('cmd-logs-3')).toMatchObject({ ok: true, data: { acknowledged: [files[1]!.transferId] } });

    // a dead device: the cached archive is sent with its capturedAt
    sim.fleet.injectFault(serial, { kind: 'power-off' });
    await send('collect-logs', 'cmd-logs-4');
    const dead = (await reply('cmd-logs-4')) as Extract<CommandReply, { ok: true }>;
    expect(dead.data.logs).toMatchObject({ cached: true });
    const cachedFile = (dead.data.attachments as { transferId: string; capturedAt?: string }[])[0]!;
    expect(cachedFile.capturedAt).toBeDefined();
    expect((chunks(cachedFile.transferId)[0] as AttachmentChunk).capturedAt).toBe(cachedFile.capturedAt);

    await hub.client.publishAsync(
      cmdTopic,
      encodeMessage('cmd', {
        v: 1,
        id: 'cmd-unknown',
        kind: 'poll-now',
        serial: 'NOPE',
        issuedAt: new Date().toISOString(),
        timeoutMs: 1000,
      }),
      { qos: 1 },
    );
    expect(await reply('cmd-unknown')).toMatchObject({ ok: false, code: 'UNKNOWN_SERIAL' });
    await hub.client.publishAsync(cmdTopic, '{"v":1,"id":"cmd-bad-1","kind":"explode"}', { qos: 1 });
    expect(await reply('cmd-bad-1')).toMatchObject({ ok: false, code: 'PAYLOAD_INVALID' });
    expect(broker.port).toBeGreaterThan(0);
  });
});
