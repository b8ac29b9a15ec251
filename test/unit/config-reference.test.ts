import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_REFERENCE_FILE, configReference } from '../../cli/config-reference.ts';

describe('docs/configuration.md', () => {
  it('matches the hub and agent config schemas (regenerate with `npm run docs:config`)', () => {
    expect(readFileSync(CONFIG_REFERENCE_FILE, 'utf8')).toBe(configReference());
  });

  it('lists every field, nested ones included', () => {
    const text = configReference();
    for (const field of ['api.token', 'mqtt.tls.certFile', 'detection.downAfterFailedPolls', 'devices[].serial']) {
      expect(text).toContain(`| \`${field}\` |`);
    }
    for (const field of [
      'mqtt.keepaliveS',
      'devices[].rest.tls.mode',
      'devices[].snmp.v3.privProtocol',
      'outbox.maxRecords',
    ]) {
      expect(text).toContain(`| \`${field}\` |`);
    }
  });
});
