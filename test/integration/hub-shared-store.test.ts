/**
 * Issue 16: with `database.url`, the stores moved onto the SqlStore (people, audit, ...) live in PostgreSQL, shared
 * by every hub node: two real hubs with their own data folders on one real PostgreSQL 15 - a user made on one signs
 * in on the other, the session cookie works on both, the audit trail of both nodes is one trail, and a node that
 * comes back with an empty data folder still knows them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUser } from '../../hub/people/cli.ts';
import { startTestHub, TEST_ADMIN_TOKEN, type TestHub } from '../helpers/hub-fixture.ts';
import { type Postgres, startPostgres } from '../helpers/postgres.ts';

let postgres: Postgres;
const hubs: TestHub[] = [];
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
  await postgres?.close();
});

async function hubOnSharedStore(node: string): Promise<TestHub> {
  const hub = await startTestHub({
    config: { node, database: { url: postgres.url }, cluster: { partitions: 4, leaseMs: 2_000, renewMs: 400 } },
  });
  hubs.push(hub);
  return hub;
}

function cookieOf(res: Response): string {
  const set = res.headers.get('set-cookie') ?? '';
  const cookie = /^(hezo_session=[^;]+)/.exec(set)?.[1];
  if (cookie === undefined) throw new Error(`no session cookie in "${set}"`);
  return cookie;
}

describe('two hub nodes on one PostgreSQL', () => {
  it('share users, sessions and the audit trail; a node with an empty data folder still knows them', async () => {
    const [a, b] = await Promise.all([hubOnSharedStore('hub-a'), hubOnSharedStore('hub-b')]);
    expect(a.dataDir).not.toBe(b.dataDir);

    const created = await a.api('/api/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ola', role: 'engineer', password: 'correct-horse-battery' }),
    });
    expect(created.status).toBe(201);

    const signIn = await b.api('/api/session', {
      token: null,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'ola', password: 'correct-horse-battery' }),
    });
    expect(signIn.status).toBe(200);
    const cookie = cookieOf(signIn);
    const onA = await a.api('/api/session', { token: null, headers: { cookie } });
    expect(onA.status).toBe(200);
    expect(await onA.json()).toMatchObject({ user: { name: 'ola', role: 'engineer' } });

    const wrong = await a.api('/api/session', {
      token: null,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'ola', password: 'wrong-password-123' }),
    });
    expect(wrong.status).toBe(401);

    // one trail: what node A and node B recorded, read on either
    const trail = async (hub: TestHub) =>
      ((await (await hub.api('/api/audit?target=user:ola')).json()) as { action: string }[]).map((e) => e.action);
    const expected = ['user.add', 'session.sign-in', 'session.sign-in-failed'];
    expect(await trail(a)).toEqual(expected);
    expect(await trail(b)).toEqual(expected);

    // sign-out on A ends the session for B too
    const out = await a.api('/api/session', { token: null, method: 'DELETE', headers: { cookie } });
    expect(out.status).toBe(204);
    expect((await b.api('/api/session', { token: null, headers: { cookie } })).status).toBe(401);

    // node A replaced by a node with a fresh, empty data folder: the people are in the shared store
    await a.close();
    hubs.splice(hubs.indexOf(a), 1);
    const a2 = await hubOnSharedStore('hub-a');
    expect(a2.dataDir).not.toBe(a.dataDir);
    const ola = await a2.api('/api/users/ola');
    expect(ola.status).toBe(200);
    expect(await ola.json()).toMatchObject({ name: 'ola', role: 'engineer' });
    expect(await trail(a2)).toEqual([...expected, 'session.sign-out']);
  });

  it('`hezo user add` with the config of a node writes to the shared store: the running nodes know the user', async () => {
    const node = await hubOnSharedStore('hub-c');
    const dir = mkdtempSync(join(tmpdir(), 'hezo-shared-cli-'));
    const file = join(dir, 'hub.yaml');
    writeFileSync(file, `version: 1\ndataDir: ${JSON.stringify(dir)}\napi:\n  token: ${TEST_ADMIN_TOKEN}\n`);
    try {
      const lines: string[] = [];
      const io = {
        env: { USER: 'ops', HEZO_USER_PASSWORD: 'cli-password-123', HEZO_DATABASE_URL: postgres.url },
        readStdin: async () => '',
        out: (l: string) => lines.push(l),
      };
      expect(await runUser(['add', 'kasia', '--role', 'engineer', '--config', file], io)).toBe(0);
      const signIn = await node.api('/api/session', {
        token: null,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'kasia', password: 'cli-password-123' }),
      });
      expect(signIn.status).toBe(200);
      const trail = (await (await node.api('/api/audit?target=user:kasia')).json()) as { actor: { id: string } }[];
      expect(trail[0]?.actor.id).toBe('cli:ops');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
