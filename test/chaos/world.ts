/**
 * One chaos world: a simulated fleet, a hub config on fixed loopback ports and a data folder (so a restarted or
 * killed hub comes back where it was), and one real agent polling every device every second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Agent, createAgent } from '../../agent/agent.ts';
import type { AgentConfig } from '../../protocols/agent-config.ts';
import type { Clock } from '../../protocols/clock.ts';
import type { SimNetworkDeviceInfo } from '../../simulator/fleet.ts';
import { agentConfigForFleet, silentLogger } from '../helpers/agent-harness.ts';
import { freeTcpPort } from '../helpers/ports.ts';
import { networked, startSimFleet } from '../helpers/sim-clients.ts';
import { writeJson } from './harness.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

export const CHAOS_TOKEN = 'chaos-admin-token-0123456789';
export const CHAOS_AGENT = { id: 'agent-1', site: 'site-1', password: 'chaos-agent-password-1' };

export interface ChaosWorld {
  dir: string;
  hubDataDir: string;
  hubConfigFile: string;
  hubConfig: Record<string, unknown>;
  httpUrl: string;
  mqttPort: number;
  devices: SimNetworkDeviceInfo[];
  /** Between the agent and the hub's MQTT port, when asked for (`viaProxy`). */
  proxy: TcpProxy | undefined;
  fault(serial: string, kind: string): void;
  clearFaults(serial: string): void;
  agentConfig: Readonly<AgentConfig>;
  startAgent(clock?: Clock): Promise<Agent>;
  api<T>(path: string): Promise<T>;
  close(): Promise<void>;
}

export async function startChaosWorld(options: {
  devices: number;
  seed: number;
  detection?: Record<string, unknown>;
  agent?: Record<string, unknown>;
  viaProxy?: boolean;
  keepaliveS?: number;
}): Promise<ChaosWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'hezo-chaos-'));
  const sim = await startSimFleet({
    devices: options.devices,
    seed: options.seed,
    models: ['StudioX30', 'StudioX50'],
    tuning: { autoCalls: false },
  });
  const devices = networked(sim.fleet.devices());
  const httpPort = await freeTcpPort();
  const mqttPort = await freeTcpPort();
  const hubDataDir = join(dir, 'hub');
  const serials = devices.map((d) => d.serial);
  const hubConfig: Record<string, unknown> = {
    version: 1,
    dataDir: hubDataDir,
    logLevel: 'info',
    http: { host: '127.0.0.1', port: httpPort },
    mqtt: { host: '127.0.0.1', port: mqttPort },
    api: { token: CHAOS_TOKEN },
    agents: [{ id: CHAOS_AGENT.id, site: CHAOS_AGENT.site, password: CHAOS_AGENT.password }],
    customers: [{ id: 'cust-1', name: 'Chaos Customer' }],
    contracts: [{ number: 'C-CHAOS', customer: 'cust-1', start: '2026-01-01', termYears: 3, serials }],
    devices: devices.map((d) => ({ serial: d.serial, model: d.model, site: CHAOS_AGENT.site, customer: 'cust-1' })),
    detection: options.detection ?? {},
  };
  const hubConfigFile = join(dir, 'hub.json');
  writeJson(hubConfigFile, hubConfig);
  const proxy = options.viaProxy === true ? await startTcpProxy(mqttPort) : undefined;
  const mqttUrl = `mqtt://127.0.0.1:${proxy?.port ?? mqttPort}`;
  const keepaliveS = options.keepaliveS ?? 5;
  const agentConfig = agentConfigForFleet(sim.fleet.devices(), mqttUrl, join(dir, 'agent'), {
    mqtt: { url: mqttUrl, username: CHAOS_AGENT.id, password: CHAOS_AGENT.password, keepaliveS },
    pollIntervalMs: 1000,
    ...options.agent,
  });
  const agents: Agent[] = [];
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  return {
    dir,
    hubDataDir,
    hubConfigFile,
    hubConfig,
    httpUrl,
    mqttPort,
    devices,
    proxy,
    fault: (serial, kind) => sim.fleet.injectFault(serial, { kind }),
    clearFaults: (serial) => sim.fleet.clearFaults(serial),
    agentConfig,
    async startAgent(clock) {
      const agent = createAgent(agentConfig, {
        logger: silentLogger,
        reconnectMinMs: 100,
        reconnectMaxMs: 500,
        ...(clock !== undefined ? { clock } : {}),
      });
      agents.push(agent);
      await agent.start();
      return agent;
    },
    async api<T>(path: string): Promise<T> {
      const res = await fetch(`${httpUrl}${path}`, { headers: { authorization: `Bearer ${CHAOS_TOKEN}` } });
      if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
      return (await res.json()) as T;
    },
    async close() {
      for (const agent of agents.splice(0)) await agent.stop();
      await proxy?.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
