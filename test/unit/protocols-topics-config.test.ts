import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_ENV_OVERRIDES, AgentConfig } from '../../protocols/agent-config.ts';
import { loadConfig } from '../../protocols/config-common.ts';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { parseTopic, topics } from '../../protocols/topics.ts';

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('topics', () => {
  it('builds and parses every kind', () => {
    expect(topics.health('site-a', 'agent-1', 'SER1')).toBe('hezo/v1/site-a/agent-1/health/SER1');
    expect(parseTopic(topics.health('site-a', 'agent-1', 'SER1'))).toEqual({
      site: 'site-a',
      agentId: 'agent-1',
      kind: 'health',
      serial: 'SER1',
    });
    expect(parseTopic(topics.presence('s', 'a'))).toEqual({ site: 's', agentId: 'a', kind: 'presence' });
    expect(parseTopic(topics.command('s', 'a')).kind).toBe('cmd');
    expect(topics.agentPrefix('s', 'a')).toBe('hezo/v1/s/a/');
  });

  it('refuses wildcards and separators in segments', () => {
    expect(errorOf(() => topics.health('site/x', 'a', 'S')).message).toMatch(/^site: expected/);
    expect(errorOf(() => topics.health('s', 'a+', 'S')).message).toMatch(/^agentId: expected/);
    expect(errorOf(() => topics.event('s', 'a', '#')).message).toMatch(/^serial: expected/);
  });

  it('rejects malformed topics with a reason', () => {
    expect(errorOf(() => parseTopic('other/v1/s/a/presence')).code).toBe(ErrorCode.TOPIC_INVALID);
    expect(errorOf(() => parseTopic('hezo/v2/s/a/presence')).code).toBe(ErrorCode.SCHEMA_VERSION);
    expect(errorOf(() => parseTopic('hezo/v1/s/a/teleport')).message).toMatch(/unknown kind "teleport"/);
    expect(errorOf(() => parseTopic('hezo/v1/s/a/health')).message).toMatch(/needs a device serial/);
    expect(errorOf(() => parseTopic('hezo/v1/s/a/presence/extra')).message).toMatch(/unexpected segment/);
    expect(errorOf(() => parseTopic('hezo/v1/s/a/health/S/x')).message).toMatch(/too many segments/);
  });
});

describe('config loading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hezo-config-'));
  const good = {
    version: 1,
    agentId: 'agent-1',
    site: 'site-a',
    customer: 'acme',
    mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'agent-1', password: 'from-file' },
    devices: [{ serial: 'SER1', address: '10.0.0.5', rest: { password: 'x' }, snmp: { community: 'public' } }],
  };

  it('loads YAML with defaults and environment overrides for secrets', () => {
    const file = join(dir, 'agent.yaml');
    writeFileSync(
      file,
      `version: 1\nagentId: agent-1\nsite: site-a\ncustomer: acme\nmqtt:\n  url: mqtt://127.0.0.1:1883\ndevices: []\n`,
    );
    const config = loadConfig(AgentConfig, file, { HEZO_MQTT_PASSWORD: 's3cret' }, AGENT_ENV_OVERRIDES);
    expect(config.mqtt.password).toBe('s3cret');
    expect(config.pollIntervalMs).toBe(10_000);
    expect(Object.isFrozen(config.mqtt)).toBe(true);
  });

  it('names the field of a wrong value, hiding secrets', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ ...good, devices: [{ ...good.devices[0], address: '' }], mqtt: { ...good.mqtt, password: 7 } }),
    );
    const err = errorOf(() => loadConfig(AgentConfig, file));
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err.message).toContain('devices[0].address: expected an IPv4/IPv6 address or a hostname');
    expect(err.message).toContain('mqtt.password: expected string, received number');
    expect(err.message).not.toContain('from-file');
  });

  it('rejects unknown keys and out-of-range values', () => {
    const file = join(dir, 'bad2.json');
    writeFileSync(file, JSON.stringify({ ...good, pollIntervalMs: 10, colour: 'blue' }));
    const err = errorOf(() => loadConfig(AgentConfig, file));
    expect(err.details).toContain('colour: unknown field');
    expect(err.message).toMatch(/pollIntervalMs: Too small: expected number to be >=1000/);
  });

  it('reports an unreadable or unparsable file in one line', () => {
    expect(errorOf(() => loadConfig(AgentConfig, join(dir, 'missing.yaml'))).message).toMatch(
      /missing\.yaml: cannot read \(ENOENT\)/,
    );
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'version: [1\n');
    expect(errorOf(() => loadConfig(AgentConfig, file)).message).toMatch(/broken\.yaml: not valid YAML/);
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    expect(errorOf(() => loadConfig(AgentConfig, list)).message).toMatch(/expected a mapping at the top level/);
  });
});
