/**
 * Issue 16: docker-compose.ha.yml (PostgreSQL 15, three NATS nodes with MQTT + JetStream, two hubs, two simulated
 * fleets) holds together without Docker: `docker-compose config` accepts it (CI installs docker-compose, as for the
 * main compose file); the hub config both hubs mount is valid with the environment the compose file gives them and
 * names every NATS node; the NATS config is valid for Debian's nats-server (`-t`) and routes to the three nodes; the
 * fleet's rewrite of the `hezo sim` agent config gives a valid agent config with all three broker URLs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadHubConfig } from '../../hub/config-secrets.ts';
import { AgentConfig } from '../../protocols/agent-config.ts';
import { agentConfigYaml } from '../../simulator/agent-config.ts';

const root = resolve(import.meta.dirname, '../..');
const USER_ENV = {
  HEZO_API_TOKEN: 'ha-compose-token-0123456789',
  HEZO_DB_PASSWORD: 'ha-db-password-0123',
  HEZO_MQTT_PASSWORD: 'ha-mqtt-password-0123',
  HEZO_AGENT_PASSWORD: 'ha-agent-password-0123',
};

interface Service {
  image?: string;
  build?: unknown;
  hostname?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
}
const compose = parseYaml(readFileSync(resolve(root, 'docker-compose.ha.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;

/** `${VAR:?message}` and `${VAR}` as compose interpolates them; `$$` is a literal `$`. */
function interpolate(value: string): string {
  return value
    .replace(/\$\{([A-Z0-9_]+)(?::\?[^}]*)?\}/g, (_m, name: string) => {
      const v = USER_ENV[name as keyof typeof USER_ENV];
      if (v === undefined) throw new Error(`compose: ${name} is not set`);
      return v;
    })
    .replaceAll('$$', '$');
}
const envOf = (svc: Service) =>
  Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));

const NATS = ['nats-1', 'nats-2', 'nats-3'];

describe('docker-compose.ha.yml', () => {
  it('has PostgreSQL 15, three NATS nodes, two hubs built from the repo and two fleets', () => {
    expect(services.postgres?.image).toMatch(/^postgres:15/);
    for (const n of NATS) expect(services[n]?.hostname).toBe(n);
    for (const h of ['hub-1', 'hub-2']) {
      expect(services[h]?.build).toBe('.');
      expect(services[h]?.hostname).toBe(h); // the node id (two hubs must not share one)
      expect(envOf(services[h]!).HEZO_DATABASE_URL).toBe(
        `postgres://hezo:${USER_ENV.HEZO_DB_PASSWORD}@postgres:5432/hezo`,
      );
    }
    expect(Object.keys(services).filter((s) => s.startsWith('fleet-'))).toHaveLength(2);
  });

  it.skipIf(spawnSync('docker-compose', ['version']).error !== undefined)('passes `docker-compose config`', () => {
    const result = spawnSync('docker-compose', ['-f', 'docker-compose.ha.yml', 'config', '-q'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...USER_ENV },
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    // a missing secret is refused, naming it
    const missing = spawnSync('docker-compose', ['-f', 'docker-compose.ha.yml', 'config', '-q'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...USER_ENV, HEZO_DB_PASSWORD: '' },
      encoding: 'utf8',
    });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('HEZO_DB_PASSWORD');
  });

  it('the hubs` config is valid with their environment: cluster on, external broker = every NATS node', () => {
    const hub = services['hub-1']!;
    const mounted = hub.volumes?.find((v) => v.endsWith(':/etc/hezo/hub.yaml:ro'));
    expect(mounted).toBeDefined();
    const config = loadHubConfig(resolve(root, mounted!.split(':')[0]!), envOf(hub));
    expect(config.database?.url).toContain('@postgres:5432/');
    expect(config.mqtt.mode).toBe('external');
    expect(config.mqtt.urls).toEqual(NATS.map((n) => `mqtt://${n}:1883`));
    expect(config.mqtt.password).toBe(USER_ENV.HEZO_MQTT_PASSWORD);
    expect(config.agents.map((a) => a.password)).toEqual([USER_ENV.HEZO_AGENT_PASSWORD, USER_ENV.HEZO_AGENT_PASSWORD]);
    // each fleet's agent and site are known to the hubs
    for (const fleet of ['fleet-a', 'fleet-b']) {
      const env = envOf(services[fleet]!);
      expect(config.agents).toContainEqual(expect.objectContaining({ id: env.AGENT_ID, site: env.SITE }));
    }
  });

  it.skipIf(!existsSync('/usr/sbin/nats-server') && !existsSync('/usr/bin/nats-server'))(
    'the NATS config is valid for nats-server and routes to the three nodes',
    () => {
      const file = resolve(root, 'deploy/nats-ha.conf');
      const text = readFileSync(file, 'utf8');
      for (const n of NATS) expect(text).toContain(`nats-route://${n}:6222`);
      const check = (env: Record<string, string>) =>
        spawnSync('nats-server', ['-c', file, '-t'], {
          env: { PATH: process.env.PATH ?? '', ...env },
          encoding: 'utf8',
        });
      const ok = check(envOf(services['nats-1']!));
      expect(ok.stdout + ok.stderr).toContain('is valid');
      expect(ok.status).toBe(0);
      // the check is real: without the node's name the file is refused
      const { NATS_NAME: _name, ...withoutName } = envOf(services['nats-1']!);
      expect(check(withoutName).status).not.toBe(0);
    },
  );

  it("the fleet's rewrite of the `hezo sim` agent config: all three broker URLs and the /data volume", () => {
    const script = services['fleet-a']!.command!.join('\n').replaceAll('$$', '$');
    const sed = /sed -i 's\|(.+?)\|(.+?)\|' \/tmp\/agent\.yaml/.exec(script);
    expect(sed).not.toBeNull();
    const appended = /echo '(.+)' >> \/tmp\/agent\.yaml/.exec(script);
    expect(appended).not.toBeNull();
    const generated = agentConfigYaml([], {
      mqttUrl: 'mqtt://nats-1:1883',
      mqttPassword: USER_ENV.HEZO_AGENT_PASSWORD,
      agentId: 'sim-agent-a',
      site: 'krakow-hq',
      customer: 'sim-customer',
    });
    const rewritten = `${generated
      .split('\n')
      .map((line) => line.replace(new RegExp(sed![1]!), sed![2]!))
      .join('\n')}\n${appended![1]}\n`;
    const config = AgentConfig.parse(parseYaml(rewritten));
    expect(config.mqtt.urls).toEqual(NATS.map((n) => `mqtt://${n}:1883`));
    expect(config.dataDir).toBe('/data');
  });
});
