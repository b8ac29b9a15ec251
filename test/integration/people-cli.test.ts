/**
 * `hezo user ...` / `hezo token ...` on the hub's database file: a user added by the CLI signs in on a running
 * hub, a CLI token works until revoked; bad input exits 2 naming the problem. One run is a real process reading the
 * password from stdin.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { runToken, runUser } from '../../hub/people/cli.ts';
import { startTestHub, TEST_ADMIN_TOKEN, type TestHub } from '../helpers/hub-fixture.ts';

const dirs: string[] = [];
let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'hezo-people-cli-'));
  dirs.push(dir);
  const file = join(dir, 'hub.yaml');
  writeFileSync(
    file,
    `version: 1\ndataDir: ${JSON.stringify(dir)}\napi:\n  token: ${TEST_ADMIN_TOKEN}\ncustomers:\n  - { id: acme, name: Acme }\n`,
  );
  return { dir, file };
}

function io(env: Record<string, string> = {}) {
  const lines: string[] = [];
  return { lines, io: { env: { ...env, USER: 'ops' }, readStdin: async () => '', out: (l: string) => lines.push(l) } };
}

describe('hezo user / token', () => {
  it('adds a user a running hub signs in, creates and revokes a token, lists and removes', async () => {
    const { dir, file } = setup();
    hub = await startTestHub({ dataDir: dir, modules: [] });
    const add = io({ HEZO_USER_PASSWORD: 'rep-password-123' });
    expect(
      await runUser(['add', 'acme-rep', '--role', 'customer', '--customer', 'acme', '--config', file], add.io),
    ).toBe(0);
    expect(JSON.parse(add.lines[0]!)).toMatchObject({ name: 'acme-rep', role: 'customer', customer: 'acme' });
    const signIn = await hub.api('/api/session', {
      method: 'POST',
      token: null,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'acme-rep', password: 'rep-password-123' }),
    });
    expect(signIn.status).toBe(200);

    const created = io();
    expect(await runToken(['create', 'acme-rep', '--label', 'script', '--config', file], created.io)).toBe(0);
    const token = created.lines[0]!;
    expect(token).toMatch(/^hzt_/);
    expect((await hub.api('/api/session', { token })).status).toBe(200);
    const listed = io();
    await runToken(['list', '--config', file], listed.io);
    const id = JSON.parse(listed.lines[0]!).id as string;
    expect(listed.lines.join('\n')).not.toContain(token.slice(-16));
    expect(await runToken(['revoke', id, '--config', file], io().io)).toBe(0);
    expect((await hub.api('/api/session', { token })).status).toBe(401);

    const users = io();
    await runUser(['list', '--config', file], users.io);
    expect(users.lines.map((l) => JSON.parse(l).name)).toEqual(['acme-rep']);
    expect(
      await runUser(['passwd', 'acme-rep', '--config', file], io({ HEZO_USER_PASSWORD: 'new-password-456' }).io),
    ).toBe(0);
    expect(await runUser(['remove', 'acme-rep', '--config', file], io().io)).toBe(0);
    const audit = await (await hub.api('/api/audit?actor=cli:ops')).json();
    expect(audit.map((e: { action: string }) => e.action)).toEqual([
      'user.add',
      'token.create',
      'token.revoke',
      'user.update',
      'user.remove',
    ]);
  });

  it('exits 2 with one line for a bad role, an unknown customer, a short password, a duplicate', async () => {
    const { file } = setup();
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      errors.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    const env = process.env.HEZO_USER_PASSWORD;
    process.env.HEZO_USER_PASSWORD = 'long-enough-password';
    try {
      expect(await main(['user', 'add', 'x', '--role', 'boss', '--config', file])).toBe(2);
      expect(await main(['user', 'add', 'x', '--role', 'customer', '--customer', 'nobody', '--config', file])).toBe(2);
      expect(await main(['user', 'add', 'x', '--role', 'customer', '--config', file])).toBe(2);
      expect(await main(['user', 'add', 'x', '--role', 'engineer', '--config', file])).toBe(0);
      expect(await main(['user', 'add', 'x', '--role', 'engineer', '--config', file])).toBe(2);
      process.env.HEZO_USER_PASSWORD = 'short';
      expect(await main(['user', 'add', 'y', '--role', 'engineer', '--config', file])).toBe(2);
    } finally {
      process.stderr.write = write;
      if (env === undefined) delete process.env.HEZO_USER_PASSWORD;
      else process.env.HEZO_USER_PASSWORD = env;
    }
    expect(errors[0]).toMatch(/--role: expected one of admin\|engineer\|customer\|wall, got "boss"/);
    expect(errors[1]).toMatch(/no customer "nobody"/);
    expect(errors[2]).toMatch(/customer/);
    expect(errors[3]).toMatch(/already exists/);
    expect(errors[4]).toMatch(/password: expected at least 10/);
  });

  it('reads the password from stdin in a real process', async () => {
    const { file } = setup();
    const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
      const child = execFile(
        'node',
        ['bin/hezo.js', 'user', 'add', 'jan', '--role', 'engineer', '--config', file],
        { env: { ...process.env, HEZO_USER_PASSWORD: '' }, timeout: 30_000 },
        (err, stdout) => resolve({ code: err === null ? 0 : Number(err.code ?? 1), stdout: String(stdout) }),
      );
      child.stdin?.end('stdin-password-789\n');
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: 'jan', role: 'engineer' });
  });
});
