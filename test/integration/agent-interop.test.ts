/**
 * Interop with real Debian servers: the agent publishing to Mosquitto (read back with mosquitto_sub),
 * polling snmpd over v2c and v3 (Poly OIDs via `override`, one of them with a wrong type), and collecting
 * a CLI bundle over SSH from sshd when REST fails.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../../agent/agent.ts';
import { assembleChunks } from '../../agent/attachments.ts';
import { buildAgentConfig } from '../../agent/config.ts';
import type { AgentConfig } from '../../protocols/agent-config.ts';
import { HealthRecord } from '../../protocols/health.ts';
import { type CommandReply, decodeMessage, encodeMessage } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import {
  agentConfigForFleet,
  recordTopics,
  silentLogger,
  startBroker,
  tempDir,
  waitFor,
} from '../helpers/agent-harness.ts';
import { SNMPD_V3, startMosquitto, startSnmpd, startSshd } from '../helpers/real-servers.ts';
import { startSimFleet } from '../helpers/sim-clients.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function agentFor(config: Readonly<AgentConfig>): Agent {
  const agent = createAgent(config, { logger: silentLogger, reconnectMinMs: 50, reconnectMaxMs: 200 });
  cleanups.push(() => agent.stop());
  return agent;
}

const POLY_OVERRIDES = [
  'sysName poly-snmpd',
  'override .1.3.6.1.4.1.13885.101.1.1.1.0 octet_str "4.6.2"',
  'override .1.3.6.1.4.1.13885.101.1.1.4.0 octet_str "StudioX50"',
  'override .1.3.6.1.4.1.13885.101.1.1.5.0 octet_str "8L0000SNMPD"',
  'override .1.3.6.1.4.1.13885.101.1.3.1.0 integer 2',
  'override .1.3.6.1.4.1.13885.101.1.3.5.1.0 integer 3',
  'override .1.3.6.1.4.1.13885.101.1.5.1.0 integer 0',
];

function snmpConfig(dataDir: string, port: number, snmp: Record<string, unknown>): Readonly<AgentConfig> {
  return buildAgentConfig({
    version: 1,
    agentId: 'agent-1',
    site: 'site-1',
    customer: 'cust-1',
    mqtt: { url: 'mqtt://127.0.0.1:1' },
    requestTimeoutMs: 1000,
    retries: 0,
    dataDir,
    devices: [{ serial: '8L0000SNMPD', address: '127.0.0.1', channels: ['snmp'], snmp: { port, ...snmp } }],
  });
}

describe('interop with real servers', () => {
  it('Mosquitto: health and retained presence, read back with mosquitto_sub', async () => {
    const mosq = await startMosquitto();
    cleanups.push(mosq.close);
    const sim = await startSimFleet({ devices: 2, seed: 3, models: ['G7500'], tuning: { autoCalls: false } });
    cleanups.push(sim.close);
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const config = agentConfigForFleet(sim.fleet.devices(), mosq.url, tmp.dir);
    const sub = spawn('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(mosq.port),
      '-t',
      'hezo/v1/+/+/health/+',
      '-C',
      '2',
      '-W',
      '10',
      '-v',
    ]);
    let out = '';
    sub.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => sub.once('exit', (code) => resolve(code)));
    await waitFor(async () => out !== '' || sub.pid !== undefined, 1000);
    const agent = agentFor(config);
    await agent.start();
    expect(await exited).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const space = line.indexOf(' ');
      const record = decodeMessage('health', line.slice(space + 1));
      expect(line.slice(0, space)).toBe(topics.health(config.site, config.agentId, record.identity.serial));
      expect(record.reachability.rest?.ok).toBe(true);
    }
    const { runCmd } = await import('../helpers/run-cmd.ts');
    const presence = await runCmd('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(mosq.port),
      '-t',
      topics.presence(config.site, config.agentId),
      '-C',
      '1',
      '-W',
      '5',
    ]);
    expect(decodeMessage('presence', presence.stdout.trim()).status).toBe('online');
  });

  it('snmpd v2c: MIB-II + Poly OIDs; a wrong SNMP type is a parse error naming the OID, values still used', async () => {
    const snmpd = await startSnmpd([...POLY_OVERRIDES, 'override .1.3.6.1.4.1.13885.101.1.3.6.1.0 octet_str "broken"']);
    cleanups.push(snmpd.close);
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const agent = agentFor(snmpConfig(tmp.dir, snmpd.port, { version: '2c', community: snmpd.community }));
    const [record] = await agent.pollOnce();
    const r = HealthRecord.parse(record);
    expect(r.identity).toMatchObject({ model: 'StudioX50', firmware: '4.6.2', hostname: 'poly-snmpd' });
    expect(r.reachability.snmp).toMatchObject({ ok: false, error: { kind: 'parse' } });
    expect(r.reachability.snmp?.error?.message).toMatch(
      /hardwareCameraStatus \(1\.3\.6\.1\.4\.1\.13885\.101\.1\.3\.6\.1\.0\): expected Integer, got OctetString/,
    );
    expect(r.components).toEqual(
      expect.arrayContaining([
        { kind: 'system', name: 'hardware', status: 'ok', source: 'snmp' },
        { kind: 'microphone', name: 'microphones', status: 'failed', source: 'snmp' },
      ]),
    );
    expect(r.call).toEqual({ inCall: false, activeCalls: 0 });
    expect(r.uptimeS).toBeGreaterThanOrEqual(0);
  });

  it('snmpd v3 authPriv SHA/AES works; a wrong auth key is an auth or timeout error', async () => {
    const snmpd = await startSnmpd(POLY_OVERRIDES);
    cleanups.push(snmpd.close);
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const v3 = {
      user: SNMPD_V3.user,
      authProtocol: 'sha',
      authKey: SNMPD_V3.authKey,
      privProtocol: 'aes',
      privKey: SNMPD_V3.privKey,
    };
    const good = HealthRecord.parse(
      (await agentFor(snmpConfig(tmp.dir, snmpd.port, { version: '3', v3 })).pollOnce())[0],
    );
    expect(good.reachability.snmp).toMatchObject({ ok: true });
    expect(good.identity.model).toBe('StudioX50');
    const bad = HealthRecord.parse(
      (
        await agentFor(
          snmpConfig(tmp.dir, snmpd.port, { version: '3', v3: { ...v3, authKey: 'wrongpass123' } }),
        ).pollOnce()
      )[0],
    );
    expect(bad.reachability.snmp?.ok).toBe(false);
    expect(['auth', 'timeout']).toContain(bad.reachability.snmp?.error?.kind);
  });

  it('sshd: collect-logs falls back to SSH when REST fails and bundles the CLI outputs, redacted', async () => {
    const sshd = await startSshd();
    cleanups.push(sshd.close);
    const broker = await startBroker();
    cleanups.push(broker.close);
    const hub = await recordTopics(broker.url, 'hezo/v1/#');
    cleanups.push(hub.close);
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const config = buildAgentConfig({
      version: 1,
      agentId: 'agent-1',
      site: 'site-1',
      customer: 'cust-1',
      mqtt: { url: broker.url },
      requestTimeoutMs: 1500,
      retries: 0,
      dataDir: tmp.dir,
      devices: [
        {
          serial: 'SSHDEV1',
          address: '127.0.0.1',
          channels: ['rest', 'ssh'],
          rest: { port: 1, password: 'rest-pass-123' },
          ssh: { port: sshd.port, username: sshd.user, privateKeyPath: sshd.keyPath },
        },
      ],
    });
    const agent = agentFor(config);
    await agent.start();
    await waitFor(() => hub.on('/health/').length > 0, 5000, 'health');
    await hub.client.publishAsync(
      topics.command(config.site, config.agentId),
      encodeMessage('cmd', {
        v: 1,
        id: 'cmd-ssh-1',
        kind: 'collect-logs',
        serial: 'SSHDEV1',
        issuedAt: new Date().toISOString(),
        timeoutMs: 20_000,
      }),
      { qos: 1 },
    );
    const reply = (await waitFor(
      () =>
        hub
          .on('/reply')
          .map((m) => decodeMessage('reply', m.payload))
          .find((r) => r.id === 'cmd-ssh-1'),
      15_000,
      'reply',
    )) as CommandReply;
    expect(reply).toMatchObject({ ok: true, data: { logs: { source: 'ssh', cached: false } } });
    const files = (reply as Extract<CommandReply, { ok: true }>).data.attachments as {
      transferId: string;
      name: string;
    }[];
    expect(files[0]?.name).toBe('device-cli-bundle.txt');
    const chunks = hub
      .on('/attachment')
      .map((m) => decodeMessage('attachment', m.payload))
      .filter((c) => c.transferId === files[0]?.transferId);
    const text = assembleChunks(chunks).toString('utf8');
    expect(text).toContain('### whoami');
    expect(text).toContain('Serial Number: 8L0000SSHD');
    expect(text).toContain('status end');
    expect(text).toContain('system is not in a call');
    expect(text).not.toContain('leaky-secret-99');
  });
});
