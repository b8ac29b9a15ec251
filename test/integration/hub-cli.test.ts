/** `hezo hub --config FILE` as a real process: bad config -> exit 2 with one line; SIGTERM -> clean exit 0. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait-for.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function writeConfig(text: string | ((dir: string) => string)): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hezo-cli-'));
  dirs.push(dir);
  const file = join(dir, 'hub.yaml');
  writeFileSync(file, typeof text === 'string' ? text : text(dir));
  return { file, dir };
}

describe('hezo hub', () => {
  it('exits 2 with one line naming the field on a bad config', async () => {
    const { file } = writeConfig('version: 1\napi:\n  token: short\nmqtt:\n  port: 99999\n');
    const result = await run('node', ['bin/hezo.js', 'hub', '--config', file], 30_000);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('api.token');
    expect(lines[0]).toContain('mqtt.port');
    expect(result.stdout).toBe('');
  });

  it('exits 2 on an unknown flag or a missing file', async () => {
    expect((await run('node', ['bin/hezo.js', 'hub', '--nope'], 30_000)).code).toBe(2);
    const missing = await run('node', ['bin/hezo.js', 'hub', '--config', '/nonexistent/hub.yaml'], 30_000);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
  });

  it('serves, never logs secrets, and stops cleanly on SIGTERM', async () => {
    const { file } = writeConfig((dir) =>
      [
        'version: 1',
        `dataDir: ${join(dir, 'data')}`,
        'http: { host: 127.0.0.1, port: 0 }',
        'mqtt: { host: 127.0.0.1, port: 0 }',
        'api: { token: from-the-environment-overridden }',
        'agents:',
        '  - { id: agent-1, site: site-a, password: plain-agent-password }',
      ].join('\n'),
    );
    const child = spawn('node', ['bin/hezo.js', 'hub', '--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HEZO_API_TOKEN: 'secret-admin-token-from-env' },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = once(child, 'exit');
    const line = await waitFor(() => out.split('\n').find((l) => l.includes('"hub serving"')), {
      what: 'hub serving',
      timeoutMs: 30_000,
    });
    const { httpUrl } = JSON.parse(line) as { httpUrl: string };
    const res = await fetch(`${httpUrl}/api/devices`, {
      headers: { authorization: 'Bearer secret-admin-token-from-env' },
    });
    expect(res.status).toBe(200);
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    expect(out).toContain('"hub stopped"');
    expect(out).not.toContain('secret-admin-token-from-env');
    expect(out).not.toContain('plain-agent-password');
  });
});
