/**
 * Safe defaults (issue 13): anonymous MQTT only with an explicit `insecureDevelopmentOnly` and a warning every
 * minute; agent passwords from the environment or a file; an agent without any password can never log in.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { agentPasswordEnv, buildHubConfig } from '../../hub/config-secrets.ts';
import { createHub } from '../../hub/hub.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { TEST_ADMIN_TOKEN } from '../helpers/hub-fixture.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const base = (extra: Record<string, unknown>) => ({
  version: 1,
  logLevel: 'info',
  http: { host: '127.0.0.1', port: 0 },
  api: { token: TEST_ADMIN_TOKEN },
  ...extra,
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hezo-safe-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('safe defaults', () => {
  it('allowAnonymous alone is refused; with insecureDevelopmentOnly it warns at start and every minute', async () => {
    expect(() => buildHubConfig(base({ mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: true } }))).toThrow(
      /mqtt\.allowAnonymous: .*insecureDevelopmentOnly: true/,
    );
    const dir = tempDir();
    const config = buildHubConfig(
      base({ dataDir: dir, mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: true, insecureDevelopmentOnly: true } }),
    );
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    const clock = new ManualClock(Date.now());
    const hub = createHub(config, { logger: pino({ level: 'info' }, sink), clock, modules: [] });
    const urls = await hub.start();
    cleanups.push(() => hub.stop());
    const warnings = () => lines.filter((l) => l.includes('INSECURE: anonymous MQTT')).length;
    expect(warnings()).toBe(1);
    clock.advance(60_000);
    clock.advance(60_000);
    expect(warnings()).toBe(3);
    const anon = await mqtt.connectAsync(urls.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    await anon.endAsync();
  });

  it('agent passwords come from HEZO_AGENT_<ID>_PASSWORD or a passwordFile; none at all is refused', () => {
    const agent = { id: 'agent-krk.1', site: 'krk' };
    expect(agentPasswordEnv(agent.id)).toBe('HEZO_AGENT_AGENT_KRK_1_PASSWORD');
    const fromEnv = buildHubConfig(base({ agents: [agent] }), { HEZO_AGENT_AGENT_KRK_1_PASSWORD: 'from-the-env-123' });
    expect(fromEnv.agents[0]?.password).toBe('from-the-env-123');
    const file = join(tempDir(), 'agent.secret');
    writeFileSync(file, 'from-a-file-4567\n');
    const fromFile = buildHubConfig(base({ agents: [{ ...agent, passwordFile: file }] }));
    expect(fromFile.agents[0]?.password).toBe('from-a-file-4567');
    expect(() => buildHubConfig(base({ agents: [{ ...agent, passwordFile: '/nonexistent/secret' }] }))).toThrow(
      /agents\[0\]\.passwordFile: cannot read \(ENOENT\)/,
    );
    expect(() => buildHubConfig(base({ agents: [agent] }))).toThrow(/agents\[0\]/);
    // The example secrets are fine for a demo only.
    const demo = buildHubConfig(
      base({ demo: true, api: { token: 'change-me-change-me-change-me' }, agents: [agent] }),
      { HEZO_AGENT_AGENT_KRK_1_PASSWORD: 'agent-krakow-password' },
    );
    expect(demo.demo).toBe(true);
  });
});
