import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EXAMPLE_SECRETS, loadHubConfig } from '../../hub/config-secrets.ts';
import { AGENT_ENV_OVERRIDES, AgentConfig } from '../../protocols/agent-config.ts';
import { loadConfig } from '../../protocols/config-common.ts';

const root = resolve(import.meta.dirname, '../..');
const HUB_ENV = { HEZO_API_TOKEN: 'a-token-of-sufficient-length', HEZO_AGENT_AGENT_KRAKOW_PASSWORD: 'pw-of-my-own' };

describe('example and deployment configs are valid against their schemas', () => {
  for (const file of ['examples/hub.yaml', 'deploy/hub.compose.yaml']) {
    it(file, () => {
      const config = loadHubConfig(resolve(root, file), HUB_ENV);
      expect(config.api.token).toBe('a-token-of-sufficient-length');
      expect(config.agents[0]?.password).toBe('pw-of-my-own');
      expect(config.devices.length).toBeGreaterThan(0);
    });
    it(`${file}: refused with its published example token or without an agent password`, () => {
      expect(() => loadHubConfig(resolve(root, file), { HEZO_AGENT_AGENT_KRAKOW_PASSWORD: 'pw-of-my-own' })).toThrow(
        /api\.token: the published example token/,
      );
      expect(() => loadHubConfig(resolve(root, file), { HEZO_API_TOKEN: HUB_ENV.HEZO_API_TOKEN })).toThrow(
        /agents\[0\]/,
      );
      expect(() =>
        loadHubConfig(resolve(root, file), {
          HEZO_API_TOKEN: HUB_ENV.HEZO_API_TOKEN,
          HEZO_AGENT_AGENT_KRAKOW_PASSWORD: 'agent-krakow-password',
        }),
      ).toThrow(/agents\[0\]\.password: the published example password; set HEZO_AGENT_AGENT_KRAKOW_PASSWORD/);
    });
  }
  for (const file of ['examples/agent.yaml', 'deploy/agent.compose.yaml']) {
    it(file, () => {
      const config = loadConfig(
        AgentConfig,
        resolve(root, file),
        { HEZO_MQTT_PASSWORD: 'pw-from-env' },
        AGENT_ENV_OVERRIDES,
      );
      expect(config.mqtt.password).toBe('pw-from-env');
      expect(config.devices.length).toBeGreaterThan(0);
    });
  }
  it('EXAMPLE_SECRETS lists every secret the published configs carry', () => {
    const hub = parseYaml(readFileSync(resolve(root, 'examples/hub.yaml'), 'utf8')) as { api: { token: string } };
    const compose = parseYaml(readFileSync(resolve(root, 'deploy/hub.compose.yaml'), 'utf8')) as typeof hub;
    const agents = ['examples/agent.yaml', 'deploy/agent.compose.yaml'].map(
      (f) => parseYaml(readFileSync(resolve(root, f), 'utf8')) as { mqtt: { password?: string } },
    );
    const published = [hub.api.token, compose.api.token, ...agents.map((a) => a.mqtt.password)].filter(
      (s): s is string => s !== undefined,
    );
    for (const secret of published) expect(EXAMPLE_SECRETS).toContain(secret);
  });
});
