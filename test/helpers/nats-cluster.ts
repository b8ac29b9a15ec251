/**
 * A three-node NATS cluster with JetStream and MQTT on loopback (Debian `nats-server`), each node with its own store
 * dir in one temp dir. MQTT in NATS needs JetStream and a `server_name`; the cluster replicates the MQTT sessions and
 * retained messages (JetStream streams), so a client may continue through any node. Nodes can be killed and
 * started again (same ports, same store).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import mqtt from 'mqtt';
import { freeTcpPort } from './ports.ts';
import { waitFor } from './wait-for.ts';

export interface NatsNode {
  name: string;
  /** mqtt://127.0.0.1:PORT */
  mqttUrl: string;
  clientPort: number;
  isRunning(): boolean;
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  start(): Promise<void>;
  log(): string;
}

export interface NatsCluster {
  nodes: NatsNode[];
  mqttUrls: string[];
  close(): Promise<void>;
}

export interface NatsClusterOptions {
  /** Extra top-level config lines for every node (e.g. an `authorization { ... }` block). */
  extraConfig?: string;
  /** Config files to `include` in every node (copied next to the node configs: NATS includes are relative). */
  includeFiles?: string[];
  /** Lines inside each node's `mqtt { }` block. */
  mqttExtra?: string;
  /** 3 (default) or 1 (a single node, no cluster block). */
  size?: 1 | 3;
  /** Credentials for the readiness probe when `extraConfig` turns on authorization. */
  probeAuth?: { username: string; password: string };
}

export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'hezo-nats-'));
  const names = ['n1', 'n2', 'n3'].slice(0, options.size ?? 3);
  const includes = (options.includeFiles ?? []).map((file, i) => {
    const name = `include-${i}-${basename(file)}`;
    copyFileSync(file, join(dir, name));
    return `include "${name}"`;
  });
  const ports = await Promise.all(
    names.map(async () => ({ client: await freeTcpPort(), route: await freeTcpPort(), mqtt: await freeTcpPort() })),
  );
  const nodes = names.map((name, i) => {
    const own = ports[i] as { client: number; route: number; mqtt: number };
    const store = join(dir, name);
    mkdirSync(store);
    const conf = join(dir, `${name}.conf`);
    const routes = ports.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p.route}`);
    writeFileSync(
      conf,
      [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${own.client}`,
        `jetstream { store_dir: "${store}", max_memory_store: 64MB, max_file_store: 512MB }`,
        names.length === 1
          ? ''
          : `cluster { name: hezo, listen: 127.0.0.1:${own.route}, routes: [${routes.join(', ')}] }`,
        // sessions and retained messages on all three nodes: one node lost keeps a quorum of two
        `mqtt { listen: 127.0.0.1:${own.mqtt}\n  stream_replicas: ${names.length}\n${options.mqttExtra ?? ''}\n}`,
        options.extraConfig ?? '',
        ...includes,
        '',
      ].join('\n'),
    );
    return makeNode(name, conf, own);
  });
  try {
    await Promise.all(nodes.map((n) => n.start()));
    // MQTT works once JetStream has a meta leader: wait until every node accepts an MQTT session
    for (const node of nodes) await waitForMqtt(node.mqttUrl, options.probeAuth);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    nodes,
    mqttUrls: nodes.map((n) => n.mqttUrl),
    async close() {
      await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function makeNode(name: string, conf: string, ports: { client: number; mqtt: number }): NatsNode {
  let child: ChildProcess | undefined;
  let output = '';
  return {
    name,
    mqttUrl: `mqtt://127.0.0.1:${ports.mqtt}`,
    clientPort: ports.client,
    isRunning: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    log: () => output,
    async start() {
      const started = spawn('/usr/sbin/nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = started;
      const mark = output.length;
      started.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      await waitFor(() => output.slice(mark).includes('Server is ready') || started.exitCode !== null, {
        what: `nats ${name} to start`,
        timeoutMs: 20_000,
      });
      if (started.exitCode !== null) throw new Error(`nats ${name} exited: ${output.slice(mark)}`);
    },
    async kill(signal = 'SIGKILL') {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
      const exited = once(running, 'exit');
      running.kill(signal);
      await exited;
    },
  };
}

/** Connect (and close) an MQTT client with a persistent session until the node accepts it. */
export async function waitForMqtt(url: string, auth: { username?: string; password?: string } = {}): Promise<void> {
  await waitFor(
    async () => {
      const client = await mqtt.connectAsync(url, {
        protocolVersion: 4,
        clientId: `probe-${Math.random().toString(16).slice(2, 10)}`,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: 2000,
        ...auth,
      });
      await client.endAsync(true);
      return true;
    },
    { what: `MQTT on ${url}`, timeoutMs: 30_000, intervalMs: 200 },
  );
}
