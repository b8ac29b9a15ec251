/**
 * Fuzz door: the agent config file loader (agent/config.ts loadAgentConfig: YAML/JSON read, environment
 * overrides, the strict schema, the cross-field checks). Each case is one file: a config shaped like a real
 * one with fields dropped, retyped or replaced, as YAML or JSON; random text and bytes; deep nesting; a YAML
 * alias bomb ("billion laughs"). The loader returns a frozen config or throws CONFIG_INVALID naming the file;
 * nothing else.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadAgentConfig } from '../../agent/config.ts';
import { isAppError } from '../../protocols/errors.ts';
import { assertClearError, fuzzDoor, shaped } from '../helpers/agent-fuzz-door.ts';
import { tempDir } from '../helpers/agent-harness.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SAMPLE = {
  version: 1,
  agentId: 'agent-krakow',
  site: 'krakow-hq',
  customer: 'acme',
  mqtt: { url: 'mqtt://hub.example.net:1883', username: 'agent-krakow', password: 'pw-123456', keepaliveS: 10 },
  pollIntervalMs: 10000,
  requestTimeoutMs: 3000,
  retries: 2,
  dataDir: '/var/lib/hezo-agent',
  logCache: { refreshMs: 3_600_000, maxUnpackedBytes: 1_000_000 },
  devices: [
    {
      serial: '8L200353429AFC',
      address: '192.0.2.10',
      model: 'StudioX30',
      channels: ['rest', 'snmp', 'ssh'],
      rest: { username: 'admin', password: '456', tls: { mode: 'tofu' } },
      snmp: { version: '3', v3: { user: 'monitor', authKey: 'auth-key-123', privKey: 'priv-key-123' } },
      ssh: { port: 22, username: 'admin', password: '456' },
    },
  ],
};

const BILLION_LAUGHS = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
  'version: 1',
].join('\n');

const fileArb: fc.Arbitrary<{ ext: 'yaml' | 'json'; text: string | Buffer }> = fc.oneof(
  { weight: 6, arbitrary: shaped(SAMPLE).map((v) => ({ ext: 'yaml' as const, text: stringify(v) ?? '' })) },
  { weight: 3, arbitrary: shaped(SAMPLE).map((v) => ({ ext: 'json' as const, text: JSON.stringify(v) ?? 'null' })) },
  { weight: 1, arbitrary: fc.constant({ ext: 'yaml' as const, text: stringify(SAMPLE) }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }).map((text) => ({ ext: 'yaml' as const, text })) },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 400 }).map((a) => ({ ext: 'yaml' as const, text: Buffer.from(a) })),
  },
  { weight: 1, arbitrary: fc.constant({ ext: 'yaml' as const, text: BILLION_LAUGHS }) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1000, max: 100_000 })
      .chain((n) =>
        fc.constantFrom(
          { ext: 'json' as const, text: `{"version":1,"x":${'['.repeat(n)}${']'.repeat(n)}}` },
          { ext: 'yaml' as const, text: `version: 1\nx: ${'['.repeat(n)}${']'.repeat(n)}\n` },
        ),
      ),
  },
);

describe('fuzz: agent config file', () => {
  it('every file is a valid frozen config or one CONFIG_INVALID error naming the file', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const summary = await fuzzDoor('agent-config-file', fileArb, async ({ ext, text }) => {
      const file = join(tmp.dir, `agent.${ext}`);
      writeFileSync(file, text);
      try {
        const config = loadAgentConfig(file, {});
        expect(Object.isFrozen(config)).toBe(true);
        return 'accepted';
      } catch (err) {
        if (!isAppError(err) || err.code !== 'CONFIG_INVALID') throw err;
        assertClearError(err, 'config error');
        expect(err.message.startsWith(file)).toBe(true);
        return 'rejected';
      }
    });
    expect(summary.crashes).toBe(0);
    expect(summary.unhandled).toBe(0);
    expect(summary.accepted).toBeGreaterThan(0);
    expect(summary.rejected).toBeGreaterThan(0);
    expect(summary.growthMiB).toBeLessThan(512);
  }, 1_800_000);
});
