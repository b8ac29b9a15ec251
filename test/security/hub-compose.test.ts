/**
 * Safe defaults, deployment (issue 13): the compose setup works when the README is followed to the letter.
 * The hub and agent processes of docker-compose.yml run here WITHOUT Docker, with exactly the environment the
 * compose file gives them, interpolated from exactly the variables the README tells users to set
 * (HEZO_API_TOKEN, HEZO_AGENT_PASSWORD, GRAFANA_ADMIN_PASSWORD); only Docker's network and volumes are
 * replaced by loopback ports and temp folders. The agent must log in. With the example secrets instead, the
 * hub refuses to start.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { freeTcpPort } from '../helpers/ports.ts';
import { withDeadline } from '../helpers/wait-for.ts';

const root = resolve(import.meta.dirname, '../..');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** The variables README.md "Deploying for real" tells users to set, as the README names them. */
function readmeVariables(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const bullet = readme.split('\n- ').find((b) => b.startsWith('**Hub (NOC):**'));
  expect(bullet, 'README: the compose deployment bullet').toBeDefined();
  const text = bullet!.replace(/\s+/g, ' ');
  const setPart = text.slice(text.indexOf(' Set '));
  return [...setPart.slice(0, setPart.indexOf(' in the environment')).matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!);
}

/** `${VAR:?message}`, `${VAR:-default}` and `${VAR}` as docker-compose interpolates them. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (op === '?') throw new Error(`compose: ${name}: ${arg}`);
    return op === '-' ? (arg ?? '') : '';
  });
}

interface ComposeService {
  command: string[];
  environment: Record<string, string>;
  volumes: string[];
}

function service(name: string): ComposeService {
  const compose = parseYaml(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, ComposeService>;
  };
  return compose.services[name]!;
}

function start(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [join(root, 'bin/hezo.js'), ...args], {
    cwd: root,
    // Only what a container would have: PATH, and the compose file's environment.
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (c: Buffer) => {
    text += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    text += c.toString();
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
  return { child, output: () => text };
}

function waitForOutput(proc: { child: ChildProcess; output: () => string }, pattern: RegExp, what: string) {
  return withDeadline(
    new Promise<void>((resolvePromise, reject) => {
      const check = () => {
        if (pattern.test(proc.output())) resolvePromise();
      };
      proc.child.stdout?.on('data', check);
      proc.child.stderr?.on('data', check);
      proc.child.once('exit', (code) => reject(new Error(`exited ${code} before ${what}:\n${proc.output()}`)));
      check();
    }),
    60_000,
    what,
  );
}

/** The compose configs with Docker's network and volumes swapped for loopback ports and a temp folder. */
async function localConfigs(dir: string) {
  const [httpPort, mqttPort, influxPort] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
  const hub = parseYaml(readFileSync(join(root, 'deploy/hub.compose.yaml'), 'utf8')) as Record<string, any>;
  hub.http = { ...hub.http, host: '127.0.0.1', port: httpPort };
  hub.mqtt = { ...hub.mqtt, host: '127.0.0.1', port: mqttPort };
  if (hub.influx !== undefined) hub.influx.url = `http://127.0.0.1:${influxPort}`;
  const agent = parseYaml(readFileSync(join(root, 'deploy/agent.compose.yaml'), 'utf8')) as Record<string, any>;
  agent.mqtt.url = `mqtt://127.0.0.1:${mqttPort}`;
  agent.dataDir = join(dir, 'agent-data');
  writeFileSync(join(dir, 'hub.yaml'), toYaml(hub));
  writeFileSync(join(dir, 'agent.yaml'), toYaml(agent));
  return { hubFile: join(dir, 'hub.yaml'), agentFile: join(dir, 'agent.yaml') };
}

/** A compose service's command, with its config volume's container path replaced by the local file. */
function commandOf(svc: ComposeService, localFile: string): string[] {
  return svc.command.map((arg) => (arg.startsWith('/etc/hezo/') ? localFile : arg));
}

function environmentOf(svc: ComposeService, userEnv: Record<string, string>, dataDir: string) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.environment ?? {})) env[k] = interpolate(String(v), userEnv);
  // The /data volume.
  if (env.HEZO_DATA_DIR === '/data') env.HEZO_DATA_DIR = dataDir;
  return env;
}

describe('the compose deployment, as the README tells it', () => {
  it('hub and agent start with the README`s variables and the agent logs in', async () => {
    const vars = readmeVariables();
    expect(vars).toEqual(expect.arrayContaining(['HEZO_API_TOKEN', 'HEZO_AGENT_PASSWORD']));
    const userEnv = Object.fromEntries(vars.map((v) => [v, randomBytes(18).toString('base64url')]));
    const dir = mkdtempSync(join(tmpdir(), 'hezo-compose-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { hubFile, agentFile } = await localConfigs(dir);

    const hubSvc = service('hub');
    const hub = start(commandOf(hubSvc, hubFile), environmentOf(hubSvc, userEnv, join(dir, 'hub-data')));
    await waitForOutput(hub, /"msg":"hub serving"/, 'the hub to serve');
    const agentSvc = service('agent');
    const agent = start(commandOf(agentSvc, agentFile), environmentOf(agentSvc, userEnv, join(dir, 'agent-data')));
    await waitForOutput(
      hub,
      /"agentId":"agent-krakow"[^\n]*"status":"online"[^\n]*"msg":"agent presence"/,
      'the agent online',
    );
    expect(hub.output()).not.toMatch(/bad-credentials|mqtt access denied/);
    // No secret in any log line.
    for (const secret of Object.values(userEnv)) {
      expect(hub.output()).not.toContain(secret);
      expect(agent.output()).not.toContain(secret);
    }
  });

  it('the same hub refuses to start with the published example secrets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hezo-compose-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { hubFile } = await localConfigs(dir);
    const env = environmentOf(
      service('hub'),
      { HEZO_API_TOKEN: 'change-me-change-me-change-me', HEZO_AGENT_PASSWORD: randomBytes(12).toString('hex') },
      join(dir, 'hub-data'),
    );
    const hub = start(['hub', '--config', hubFile], env);
    const [code] = (await once(hub.child, 'exit')) as [number];
    expect(code).toBe(2);
    expect(hub.output()).toContain('api.token: the published example token');
  });
});
