/**
 * `hezo demo`: the whole product on embedded defaults in one process tree: the hub (embedded MQTT broker, SQLite,
 * HTTP API, websocket, NOC page), a simulated fleet split over two customers and three sites (contracts of
 * different ages, one expired), and one agent per site polling every 5 s. Runs until SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Logger, pino } from 'pino';
import { type Agent, createAgent } from '../agent/agent.ts';
import { REDACT_PATHS as AGENT_REDACT_PATHS } from '../agent/main.ts';
import { HUB_ENV_OVERRIDES, HubConfig } from '../hub/config.ts';
import { createHub, type Hub } from '../hub/hub.ts';
import { REDACT_PATHS as HUB_REDACT_PATHS } from '../hub/main.ts';
import type { PeopleModule } from '../hub/people/module.ts';
import { AgentConfig } from '../protocols/agent-config.ts';
import { intFlag, parseFlags } from '../protocols/cli-flags.ts';
import type { Clock } from '../protocols/clock.ts';
import { buildConfig } from '../protocols/config-common.ts';
import { AppError, ErrorCode } from '../protocols/errors.ts';
import { buildAgentConfig } from '../simulator/agent-config.ts';
import { createFleet, type Fleet, type SimDeviceInfo } from '../simulator/fleet.ts';
import { createDemoUsers, type DemoLogin } from './demo-users.ts';

const FLAGS = {
  devices: { type: 'string' },
  port: { type: 'string' },
  'mqtt-port': { type: 'string' },
  data: { type: 'string' },
  seed: { type: 'string' },
  'poll-ms': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

interface DemoSite {
  site: string;
  customer: string;
  agentId: string;
}

/** Two customers, three sites. */
export const DEMO_SITES: readonly DemoSite[] = [
  { site: 'krakow-hq', customer: 'acme', agentId: 'agent-krakow' },
  { site: 'warszawa-office', customer: 'acme', agentId: 'agent-warszawa' },
  { site: 'gdansk-lab', customer: 'globex', agentId: 'agent-gdansk' },
];

export interface DemoOptions {
  devices: number;
  httpPort: number;
  mqttPort: number;
  simPort: number;
  dataDir: string;
  seed: number;
  pollIntervalMs: number;
  apiToken: string;
  /** Password of the demo users (admin, engineer, `<customer>-rep`); generated when not given. */
  demoPassword?: string;
  logger: Logger;
  /** The hub's and the agents' clock (tests: a night or a weekend); the simulated devices keep the system clock. */
  clock?: Clock;
}

export interface Demo {
  /** The running hub (a new object after `restartHub`). */
  readonly hub: Hub;
  fleet: Fleet;
  agents: Agent[];
  /** The demo's users (admin, engineer, `<customer>-rep`) and their one password. */
  logins: DemoLogin[];
  demoPassword: string;
  urls: { httpUrl: string; nocUrl: string; mqttUrl: string; simUrl: string };
  /** Stop the hub and start a new one on the same ports and data folder (agents reconnect by themselves). */
  restartHub(): Promise<void>;
  stop(): Promise<void>;
}

/** Which site each simulated device belongs to: round robin keeps every site mixed. */
export function siteOf(index: number): DemoSite {
  return DEMO_SITES[index % DEMO_SITES.length] as DemoSite;
}

/**
 * Contracts of different ages (SLA-2): a current 3-year one, one in its extension year 5, one expired
 * (so its devices get `coverage: none` tickets), and a new one.
 */
function demoContracts(devices: readonly SimDeviceInfo[]): unknown[] {
  // a peripheral with its own serial (the E70 of a G7500) is covered by its host's site contract line
  const bySite = (site: string) => devices.filter((_, i) => siteOf(i).site === site).flatMap(withPeripheralSerials);
  const gdansk = bySite('gdansk-lab');
  const half = Math.ceil(gdansk.length / 2);
  return [
    { number: 'HZ-2025-0107', customer: 'acme', start: '2025-02-01', termYears: 3, serials: bySite('krakow-hq') },
    {
      number: 'HZ-2022-0031',
      customer: 'acme',
      start: '2022-06-01',
      termYears: 3,
      extensionYears: 2,
      serials: bySite('warszawa-office'),
    },
    { number: 'HZ-2023-0012', customer: 'globex', start: '2023-01-10', termYears: 1, serials: gdansk.slice(0, half) },
    { number: 'HZ-2026-0240', customer: 'globex', start: '2026-09-01', termYears: 2, serials: gdansk.slice(half) },
  ];
}

function withPeripheralSerials(d: SimDeviceInfo): string[] {
  if (d.usb !== undefined) return [d.serial];
  return [d.serial, ...d.peripherals.flatMap((p) => (p.serial === undefined ? [] : [p.serial]))];
}

export async function startDemo(options: DemoOptions): Promise<Demo> {
  const { logger } = options;
  const fleet = createFleet({ devices: options.devices, seed: options.seed, controlPort: options.simPort, logger });
  await fleet.start();
  const devices = fleet.devices();
  const agentPasswords = new Map(DEMO_SITES.map((s) => [s.agentId, randomBytes(12).toString('base64url')]));

  const hubConfig = buildConfig(
    HubConfig,
    {
      version: 1,
      dataDir: options.dataDir,
      http: { host: '127.0.0.1', port: options.httpPort },
      api: { token: options.apiToken, readTokens: [] },
      mqtt: { mode: 'embedded', host: '127.0.0.1', port: options.mqttPort },
      agents: DEMO_SITES.map((s) => ({ id: s.agentId, site: s.site, password: agentPasswords.get(s.agentId) })),
      customers: [
        { id: 'acme', name: 'ACME Sp. z o.o.' },
        { id: 'globex', name: 'Globex Polska S.A.' },
      ],
      contracts: demoContracts(devices),
      devices: devices.flatMap((d, i) => [
        {
          serial: d.serial,
          model: d.model,
          site: siteOf(i).site,
          customer: siteOf(i).customer,
          ...(d.usb === undefined ? { name: d.systemName } : {}),
        },
        // the E70 of a G7500: a device of its own (the agent reports it with its own serial)
        ...(d.usb === undefined ? d.peripherals : [])
          .filter((p) => p.serial !== undefined)
          .map((p) => ({ serial: p.serial, model: 'StudioE70', site: siteOf(i).site, customer: siteOf(i).customer })),
      ]),
    },
    process.env,
    { HEZO_API_TOKEN: HUB_ENV_OVERRIDES.HEZO_API_TOKEN },
    'demo hub config',
  );
  let hub = createHub(hubConfig, { logger, clock: options.clock });
  // A hub that cannot start (a port taken) stops itself; the fleet must stop too, or the command never exits.
  const hubUrls = await hub.start().catch(async (err: unknown) => {
    await fleet.stop();
    throw err;
  });
  const demoPassword = options.demoPassword ?? randomBytes(12).toString('base64url');
  const logins = await createDemoUsers(
    hub.ctx.services.people as PeopleModule,
    hubConfig.customers.map((c) => c.id),
    demoPassword,
  );
  // A restarted hub keeps the ports the first one was given (the agents and NOC pages know those).
  const restartConfig = buildConfig(
    HubConfig,
    {
      ...hubConfig,
      http: { ...hubConfig.http, port: Number(new URL(hubUrls.httpUrl).port) },
      mqtt: { ...hubConfig.mqtt, port: Number(new URL(hubUrls.mqttUrl).port) },
    },
    {},
    {},
    'demo hub config',
  );

  const agents: Agent[] = [];
  try {
    for (const site of DEMO_SITES) {
      const mine = devices.filter((_, i) => siteOf(i).site === site.site);
      const usbRoot = join(options.dataDir, 'usb-sysfs', site.site);
      const hasUsb = mine.some((d) => d.usb !== undefined);
      if (hasUsb) {
        mkdirSync(usbRoot, { recursive: true });
        // only this site's bars: a USB bar is seen by the host it is plugged into, nobody else
        await fleet.writeUsbSysfs(
          usbRoot,
          mine.filter((d) => d.usb !== undefined).map((d) => d.serial),
        );
      }
      const raw = buildAgentConfig(mine, {
        mqttUrl: hubUrls.mqttUrl,
        agentId: site.agentId,
        site: site.site,
        customer: site.customer,
        ...(hasUsb ? { usbSysfsRoot: usbRoot } : {}),
      });
      const config = buildConfig(
        AgentConfig,
        {
          ...raw,
          mqtt: {
            url: hubUrls.mqttUrl,
            username: site.agentId,
            password: agentPasswords.get(site.agentId),
            keepaliveS: 5,
          },
          pollIntervalMs: options.pollIntervalMs,
          requestTimeoutMs: 2000,
          traps: { enabled: true, address: '127.0.0.1', port: 0 },
          dataDir: join(options.dataDir, 'agents', site.agentId),
        },
        {},
        {},
        `demo agent config ${site.agentId}`,
      );
      // The simulated fleet makes new certificates and SSH host keys on every run: forget the last run's
      // trust-on-first-use stores.
      rmSync(join(config.dataDir, 'known-certs.json'), { force: true });
      rmSync(join(config.dataDir, 'known-ssh-host-keys.json'), { force: true });
      const agent = createAgent(config, { logger: logger.child({ agentId: site.agentId }), clock: options.clock });
      await agent.start();
      agents.push(agent);
      // each site's devices send their traps to their own agent
      const trapPort = agent.stats.traps?.port;
      for (const d of mine) {
        if (d.usb === undefined && trapPort) fleet.setTrapTarget(d.serial, { host: '127.0.0.1', port: trapPort });
      }
    }
  } catch (err) {
    for (const agent of agents) await agent.stop();
    await hub.stop();
    await fleet.stop();
    throw err;
  }

  const nocUrl = `${hubUrls.httpUrl}/?token=${encodeURIComponent(options.apiToken)}`;
  let stopped = false;
  return {
    get hub() {
      return hub;
    },
    fleet,
    agents,
    logins,
    demoPassword,
    urls: { httpUrl: hubUrls.httpUrl, nocUrl, mqttUrl: hubUrls.mqttUrl, simUrl: fleet.controlUrl },
    async restartHub() {
      await hub.stop();
      hub = createHub(restartConfig, { logger, clock: options.clock });
      await hub.start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.allSettled(agents.map((a) => a.stop()));
      await hub.stop();
      await fleet.stop();
    },
  };
}

export async function runDemo(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags('demo', args, FLAGS);
  if (positionals.length > 0) throw new AppError(ErrorCode.USAGE, `hezo demo: unexpected argument "${positionals[0]}"`);
  const httpPort = intFlag('demo', 'port', values.port, 0, 65534) ?? 8080;
  const level = values['log-level'] ?? 'warn';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) {
    throw new AppError(
      ErrorCode.USAGE,
      `hezo demo: --log-level: expected error|warn|info|debug|silent, got "${level}"`,
    );
  }
  const logger = pino(
    {
      name: 'demo',
      level,
      redact: { paths: [...new Set([...HUB_REDACT_PATHS, ...AGENT_REDACT_PATHS])], censor: '***' },
    },
    pino.destination(2),
  );
  const dataDir = resolve(values.data ?? process.env.HEZO_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'hezo-demo-')));
  const generatedToken = process.env.HEZO_API_TOKEN === undefined || process.env.HEZO_API_TOKEN === '';
  const apiToken = generatedToken ? randomBytes(18).toString('base64url') : (process.env.HEZO_API_TOKEN as string);
  const generatedPassword = process.env.HEZO_DEMO_PASSWORD === undefined || process.env.HEZO_DEMO_PASSWORD === '';
  const demoPassword = generatedPassword
    ? randomBytes(12).toString('base64url')
    : (process.env.HEZO_DEMO_PASSWORD as string);
  const demo = await startDemo({
    devices: intFlag('demo', 'devices', values.devices, 1, 2000) ?? 12,
    httpPort,
    mqttPort: intFlag('demo', 'mqtt-port', values['mqtt-port'], 0, 65535) ?? 1883,
    simPort: httpPort === 0 ? 0 : httpPort + 1,
    dataDir,
    seed: intFlag('demo', 'seed', values.seed, 0, 2 ** 31 - 1) ?? 1,
    pollIntervalMs: intFlag('demo', 'poll-ms', values['poll-ms'], 1000, 600_000) ?? 5000,
    apiToken,
    demoPassword,
    logger,
  });
  const out = [
    'hezo demo is running',
    `  NOC page:      ${demo.urls.nocUrl}`,
    `  Desk, portal:  ${demo.urls.httpUrl}/signin  (engineer -> desk, <customer>-rep -> that customer's portal)`,
    `  API:           ${demo.urls.httpUrl}/api/devices  (Authorization: Bearer <token>)`,
    `  API token:     ${generatedToken ? `${apiToken}  (generated; set HEZO_API_TOKEN to choose one)` : '(from HEZO_API_TOKEN)'}`,
    `  Sign in as:    ${demo.logins.map((l) => l.name).join(', ')}`,
    `  Password:      ${generatedPassword ? `${demoPassword}  (generated; set HEZO_DEMO_PASSWORD to choose one)` : '(from HEZO_DEMO_PASSWORD)'}`,
    `  MQTT broker:   ${demo.urls.mqttUrl}`,
    `  Sim control:   ${demo.urls.simUrl}/sim/devices`,
    `  Data folder:   ${dataDir}`,
    `  Devices:       ${demo.fleet.devices().length} simulated, ${DEMO_SITES.length} sites, agents poll every ${
      (intFlag('demo', 'poll-ms', values['poll-ms'], 1000, 600_000) ?? 5000) / 1000
    } s`,
    `Inject a fault:  curl -XPOST ${demo.urls.simUrl}/sim/devices/<serial>/faults -H 'content-type: application/json' -d '{"kind":"power-off"}'`,
    'Ctrl-C stops everything.',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  await new Promise<void>((resolveSignal) => {
    process.once('SIGINT', () => resolveSignal());
    process.once('SIGTERM', () => resolveSignal());
  });
  process.stdout.write('stopping...\n');
  await demo.stop();
  process.stdout.write('stopped\n');
  return 0;
}
