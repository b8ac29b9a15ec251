/**
 * The product on loopback for end-to-end tests: a simulated fleet, a real hub (tickets + evidence modules,
 * restartable on its data folder) and one real agent polling every device every second.
 */
import { type Agent, createAgent } from '../../agent/agent.ts';
import type { Fleet, FleetOptions, SimNetworkDeviceInfo } from '../../simulator/fleet.ts';
import { agentConfigForFleet, silentLogger, tempDir } from './agent-harness.ts';
import { type EvidenceHub, startEvidenceHub } from './evidence-hub.ts';
import { networked, startSimFleet } from './sim-clients.ts';

export const LIVE_AGENT = { id: 'agent-1', site: 'site-1', password: 'e2e-agent-password-1' };
export const LIVE_CUSTOMER = 'cust-1';

export interface LiveProduct {
  fleet: Fleet;
  devices: SimNetworkDeviceInfo[];
  hub: EvidenceHub;
  agent: Agent;
  agentDataDir: string;
  close(): Promise<void>;
}

/** `hubConfig(devices)` adds to the hub config (contracts, ...); the agent, customer and devices are set here. */
export async function startLiveProduct(
  fleetOptions: FleetOptions,
  hubConfig: (devices: SimNetworkDeviceInfo[]) => Record<string, unknown> = () => ({}),
): Promise<LiveProduct> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  try {
    const sim = await startSimFleet(fleetOptions);
    cleanups.push(sim.close);
    const devices = networked(sim.fleet.devices());
    const hub = await startEvidenceHub({
      agents: [LIVE_AGENT],
      customers: [{ id: LIVE_CUSTOMER, name: 'Customer One' }],
      devices: devices.map((d) => ({
        serial: d.serial,
        model: d.model,
        site: LIVE_AGENT.site,
        customer: LIVE_CUSTOMER,
      })),
      ...hubConfig(devices),
    });
    cleanups.push(() => hub.close());
    const tmp = tempDir('hezo-e2e-agent-');
    cleanups.push(tmp.close);
    const config = agentConfigForFleet(devices, hub.urls.mqttUrl, tmp.dir, {
      mqtt: { url: hub.urls.mqttUrl, username: LIVE_AGENT.id, password: LIVE_AGENT.password, keepaliveS: 5 },
      pollIntervalMs: 1000,
    });
    const agent = createAgent(config, { logger: silentLogger });
    await agent.start();
    cleanups.push(() => agent.stop());
    return { fleet: sim.fleet, devices, hub, agent, agentDataDir: tmp.dir, close };
  } catch (err) {
    await close();
    throw err;
  }
}
