/**
 * `hezo sim --devices N [--port P] [--seed S] [--agent-config FILE --mqtt-url URL] [--hub-config FILE]
 *  [--trap-target host:port] [--site S] [--customer C] [--agent-id A] [--agent-password P] [--firmware V]
 *  [--usb-sysfs DIR] [--log-level L]`
 * Starts a simulated fleet, prints the control URL, runs until SIGINT/SIGTERM, then stops cleanly.
 * The agent config it writes logs in as `--agent-id` (default `sim-agent`) with the password from
 * `--agent-password`, else from `HEZO_AGENT_<ID>_PASSWORD` (the variable the hub reads for that agent), else
 * none: the agent then needs HEZO_MQTT_PASSWORD when it starts (printed as a hint).
 */
import { createSocket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { intFlag, parseFlags, requireFlag } from '../protocols/cli-flags.ts';
import { AppError, ErrorCode } from '../protocols/errors.ts';
import { agentConfigYaml } from './agent-config.ts';
import { createFleet } from './fleet.ts';
import { hubConfigYaml, newSecret } from './hub-config.ts';
import type { TrapTarget } from './traps.ts';

/** A UDP port the OS says is free now (bind to 0, read, close). */
async function freeUdpPort(host: string): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

const FLAGS = {
  devices: { type: 'string' },
  port: { type: 'string' },
  seed: { type: 'string' },
  'agent-config': { type: 'string' },
  'mqtt-url': { type: 'string' },
  'hub-config': { type: 'string' },
  'trap-target': { type: 'string' },
  site: { type: 'string' },
  customer: { type: 'string' },
  'agent-id': { type: 'string' },
  'agent-password': { type: 'string' },
  firmware: { type: 'string' },
  'usb-sysfs': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

function parseTrapTarget(value: string | undefined): TrapTarget | undefined {
  if (value === undefined) return undefined;
  const m = /^(.+):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) {
    throw new AppError(ErrorCode.USAGE, `hezo sim: --trap-target: expected host:port, got "${value}"`);
  }
  return { host: m[1]!, port };
}

/** The environment variable the hub reads an agent's password from: `sim-agent` -> HEZO_AGENT_SIM_AGENT_PASSWORD. */
export function agentPasswordEnv(agentId: string): string {
  return `HEZO_AGENT_${agentId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

export async function runSim(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags('sim', args, FLAGS);
  if (positionals.length > 0) throw new AppError(ErrorCode.USAGE, `hezo sim: unexpected argument "${positionals[0]}"`);
  const devices = intFlag('sim', 'devices', values.devices, 0, 5000) ?? 12;
  const port = intFlag('sim', 'port', values.port, 0, 65535) ?? 8081;
  const seed = intFlag('sim', 'seed', values.seed, 0, 2 ** 31 - 1) ?? 1;
  const agentConfigFile = values['agent-config'];
  // with --agent-config, the fleet's traps go to the agent it configures (a free UDP port of 127.0.0.1)
  const trapTarget =
    parseTrapTarget(values['trap-target']) ??
    (agentConfigFile !== undefined ? { host: '127.0.0.1', port: await freeUdpPort('127.0.0.1') } : undefined);
  const hubConfigFile = values['hub-config'];
  const mqttUrl =
    agentConfigFile !== undefined || hubConfigFile !== undefined
      ? requireFlag('sim', 'mqtt-url', values['mqtt-url'])
      : values['mqtt-url'];
  if (values.firmware !== undefined && !/^\d+\.\d+\.\d+(\.\d+)?$/.test(values.firmware)) {
    throw new AppError(
      ErrorCode.USAGE,
      `hezo sim: --firmware: expected a version like 4.6.2.412233, got "${values.firmware}"`,
    );
  }
  const level = values['log-level'] ?? 'warn';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) {
    throw new AppError(ErrorCode.USAGE, `hezo sim: --log-level: expected error|warn|info|debug|silent, got "${level}"`);
  }
  const logger = pino({ name: 'sim', level, redact: ['*.password', '*.community'] }, pino.destination(2));
  const fleet = createFleet({
    devices,
    seed,
    controlPort: port,
    logger,
    ...(trapTarget ? { trapTarget } : {}),
    ...(values.firmware !== undefined ? { firmware: values.firmware } : {}),
  });
  await fleet.start();
  try {
    const list = fleet.devices();
    const usbRoot = values['usb-sysfs'];
    if (usbRoot !== undefined) await fleet.writeUsbSysfs(usbRoot);
    let passwordHint: string | undefined;
    const agentId = values['agent-id'] ?? 'sim-agent';
    const passwordEnv = agentPasswordEnv(agentId);
    // the agent's broker password: given, else from the hub's variable for it, else new when a hub config is written
    const agentPassword =
      values['agent-password'] ??
      nonEmpty(process.env[passwordEnv]) ??
      (hubConfigFile !== undefined ? newSecret() : undefined);
    if (hubConfigFile !== undefined && mqttUrl !== undefined && agentPassword !== undefined) {
      const yaml = hubConfigYaml(list, {
        mqttUrl,
        agentId,
        site: values.site ?? 'sim-site',
        customer: values.customer ?? 'sim-customer',
        agentPassword,
        seed,
        today: new Date().toISOString().slice(0, 10),
      });
      await writeFile(hubConfigFile, yaml, { mode: 0o600 });
    }
    if (agentConfigFile !== undefined && mqttUrl !== undefined) {
      if (agentPassword === undefined)
        passwordHint = `no agent password given (--agent-password or ${passwordEnv}): start the agent with HEZO_MQTT_PASSWORD set`;
      const yaml = agentConfigYaml(list, {
        mqttUrl,
        ...(agentPassword !== undefined ? { mqttPassword: agentPassword } : {}),
        ...(values['agent-id'] !== undefined ? { agentId: values['agent-id'] } : {}),
        ...(values.site !== undefined ? { site: values.site } : {}),
        ...(values.customer !== undefined ? { customer: values.customer } : {}),
        ...(usbRoot !== undefined ? { usbSysfsRoot: usbRoot } : {}),
        ...(trapTarget?.host === '127.0.0.1' ? { trapPort: trapTarget.port } : {}),
      });
      await writeFile(agentConfigFile, yaml, { mode: 0o600 });
    }
    const usbCount = list.filter((d) => d.usb !== undefined).length;
    process.stdout.write(
      `hezo sim: ${list.length} devices (${list.length - usbCount} networked, ${usbCount} USB), seed ${seed}\n`,
    );
    process.stdout.write(`control: ${fleet.controlUrl}/sim/devices\n`);
    if (agentConfigFile !== undefined) process.stdout.write(`agent config: ${agentConfigFile}\n`);
    if (passwordHint !== undefined) process.stdout.write(`agent config: ${passwordHint}\n`);
    if (hubConfigFile !== undefined) process.stdout.write(`hub config: ${hubConfigFile}\n`);
    if (usbRoot !== undefined) process.stdout.write(`usb sysfs: ${usbRoot}\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  } finally {
    await fleet.stop();
  }
  process.stdout.write('hezo sim: stopped\n');
  return 0;
}
