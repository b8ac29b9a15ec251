/** `hezo demo` logins (issue 14): admin, engineer and `<customer>-rep` per demo customer, one password; rerun resets. */
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoUsers } from '../../cli/demo-users.ts';
import type { PeopleModule } from '../../hub/people/module.ts';
import { startTestHub, type TestHub } from '../helpers/hub-fixture.ts';

let t: TestHub | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function signIn(hub: TestHub, user: string, password: string) {
  const res = await hub.api('/api/session', {
    method: 'POST',
    token: null,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('demo users', () => {
  it('creates admin, engineer and one representative per customer, each able to sign in', async () => {
    t = await startTestHub({
      config: {
        customers: [
          { id: 'acme', name: 'A' },
          { id: 'globex', name: 'G' },
        ],
      },
    });
    const people = t.hub.ctx.services.people as PeopleModule;
    const logins = await createDemoUsers(people, ['acme', 'globex'], 'demo-password-1');
    expect(logins.map((l) => l.name)).toEqual(['admin', 'engineer', 'acme-rep', 'globex-rep']);
    expect(await signIn(t, 'acme-rep', 'demo-password-1')).toMatchObject({
      status: 200,
      body: { user: { name: 'acme-rep', role: 'customer', customer: 'acme' } },
    });
    expect((await signIn(t, 'engineer', 'demo-password-1')).body.user.role).toBe('engineer');
    // A second run on the same data folder resets the password.
    await createDemoUsers(people, ['acme', 'globex'], 'demo-password-2');
    expect((await signIn(t, 'admin', 'demo-password-1')).status).toBe(401);
    expect((await signIn(t, 'admin', 'demo-password-2')).status).toBe(200);
    expect(await people.store.users()).toHaveLength(4);
  });
});
