import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HUB_ENV_OVERRIDES, HubConfig } from '../../hub/config.ts';
import { AGENT_ENV_OVERRIDES, AgentConfig } from '../../protocols/agent-config.ts';
import { loadConfig } from '../../protocols/config-common.ts';

const root = resolve(import.meta.dirname, '../..');

describe('example and deployment configs are valid against their schemas', () => {
  for (const file of ['examples/hub.yaml', 'deploy/hub.compose.yaml']) {
    it(file, () => {
      const config = loadConfig(
        HubConfig,
        resolve(root, file),
        { HEZO_API_TOKEN: 'a-token-of-sufficient-length' },
        HUB_ENV_OVERRIDES,
      );
      expect(config.api.token).toBe('a-token-of-sufficient-length');
      expect(config.devices.length).toBeGreaterThan(0);
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
});
