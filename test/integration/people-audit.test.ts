/**
 * Issue 14 "Done when": a ticket raised, transitioned and commented by three different users; the audit trail and
 * the ticket history name the real users (a free-text `actor` in a body is not trusted); internal notes stay
 * staff-only; the trail is append-only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type PeopleHub, startPeopleHub } from '../helpers/people-fixture.ts';

let h: PeopleHub | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('audit trail', () => {
  it('records who raised, transitioned and commented a ticket, with before/after and address', async () => {
    h = await startPeopleHub();
    const raised = await h.json('/api/tickets', {
      method: 'POST',
      token: h.tokens.customer,
      body: {
        channel: 'portal',
        serial: 'ACME-0001',
        contract: 'C-ACME',
        priority: 'P2',
        reporter: 'Anna',
        description: 'no audio',
      },
    });
    expect(raised.status).toBe(201);
    const id = raised.body.id as string;
    const moved = await h.json(`/api/tickets/${id}/transitions`, {
      method: 'POST',
      token: h.tokens.engineer,
      body: { to: 'acknowledged', actor: 'somebody-else', note: 'calling the reporter' },
    });
    expect(moved.status).toBe(200);
    const internal = await h.json(`/api/tickets/${id}/notes`, {
      method: 'POST',
      token: h.tokens.admin,
      body: { text: 'replacement unit reserved', visibility: 'internal' },
    });
    expect(internal.status).toBe(201);
    const shared = await h.json(`/api/tickets/${id}/notes`, {
      method: 'POST',
      token: h.tokens.customer,
      body: { text: 'room is free after 14:00' },
    });
    expect(shared.status).toBe(201);
    expect(
      (
        await h.json(`/api/tickets/${id}/notes`, {
          method: 'POST',
          token: h.tokens.customer,
          body: { text: 'x', visibility: 'internal' },
        })
      ).status,
    ).toBe(403);

    const audit = await h.json(`/api/audit?target=ticket:${id}`);
    expect(audit.status).toBe(200);
    expect(audit.body.map((e: any) => [e.action, e.actor.name, e.actor.role])).toEqual([
      ['ticket.open', 'acme-rep', 'customer'],
      ['ticket.transition', 'eric-engineer', 'engineer'],
      ['ticket.note', 'alice-admin', 'admin'],
      ['ticket.note', 'acme-rep', 'customer'],
    ]);
    const [, transition] = audit.body;
    expect(transition).toMatchObject({
      address: '127.0.0.1',
      actor: { id: expect.stringMatching(/^token:/) },
      before: { id, state: 'open' },
      after: { id, state: 'acknowledged' },
    });
    const opened = await h.json('/api/audit?action=ticket.open');
    expect(opened.body).toHaveLength(1);
    expect(opened.body[0]).toMatchObject({ actor: { name: 'acme-rep' }, after: { id, customer: 'acme' } });

    // The ticket history shows the real users; the body's actor was ignored.
    const staffView = await h.json(`/api/tickets/${id}`, { token: h.tokens.engineer });
    expect(staffView.body.history.map((e: any) => [e.kind, e.actor])).toEqual([
      ['opened', 'acme-rep'],
      ['transition', 'eric-engineer'],
      ['internal-note', 'alice-admin'],
      ['note', 'acme-rep'],
    ]);
    expect(JSON.stringify(staffView.body)).not.toContain('somebody-else');
    // The customer never sees the internal note.
    const customerView = await h.json(`/api/tickets/${id}`, { token: h.tokens.customer });
    expect(customerView.body.history.map((e: any) => e.kind)).toEqual(['opened', 'transition', 'note']);
    expect(JSON.stringify(customerView.body)).not.toContain('replacement unit reserved');

    // Filters, admin only, append-only.
    expect(
      (await h.json('/api/audit?actor=eric-engineer')).body.every((e: any) => e.actor.name === 'eric-engineer'),
    ).toBe(true);
    expect((await h.json('/api/audit', { token: h.tokens.engineer })).status).toBe(403);
    expect((await h.json('/api/audit?from=nope')).status).toBe(400);
    expect(() => h!.hub.ctx.db.prepare(`UPDATE audit_log SET actor_name = 'x'`).run()).toThrow(/append-only/);
    expect(() => h!.hub.ctx.db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
  });

  it('records user and token changes without their secrets', async () => {
    h = await startPeopleHub();
    await h.json('/api/users', {
      method: 'POST',
      body: { name: 'jan', role: 'engineer', password: 'secret-password-1' },
    });
    const token = await h.json('/api/tokens', { method: 'POST', body: { user: 'jan', label: 'ci' } });
    await h.json(`/api/tokens/${token.body.id}`, { method: 'DELETE' });
    await h.json('/api/users/jan', { method: 'PATCH', body: { password: 'secret-password-2' } });
    await h.json('/api/users/jan', { method: 'DELETE' });
    const audit = await h.json('/api/audit?action=user.*');
    expect(audit.body.map((e: any) => [e.action, e.target, e.actor.id])).toEqual([
      ['user.add', 'user:jan', 'config:api.token'],
      ['user.update', 'user:jan', 'config:api.token'],
      ['user.remove', 'user:jan', 'config:api.token'],
    ]);
    expect(audit.body[2].before).toMatchObject({ name: 'jan', role: 'engineer' });
    const tokens = await h.json('/api/audit?action=token.*');
    expect(tokens.body.map((e: any) => [e.action, e.target])).toEqual([
      ['token.create', `token:${token.body.id}`],
      ['token.revoke', `token:${token.body.id}`],
    ]);
    const all = JSON.stringify((await h.json('/api/audit')).body);
    expect(all).not.toContain('secret-password');
    expect(all).not.toContain(token.body.token);
  });
});

describe('customer actions', () => {
  it('a customer confirms a recovery (closing from acknowledged), never from open or for another customer', async () => {
    h = await startPeopleHub();
    const open = async (serial: string, contract: string) =>
      (
        await h!.json('/api/tickets', {
          method: 'POST',
          body: { channel: 'phone', serial, contract, priority: 'P3', reporter: 'R', description: 'd' },
        })
      ).body.id as string;
    const mine = await open('ACME-0001', 'C-ACME');
    const theirs = await open('GLOBEX-0001', 'C-GLOBEX');
    const confirm = (id: string) =>
      h!.json(`/api/tickets/${id}/confirm-recovery`, { method: 'POST', token: h!.tokens.customer, body: {} });
    expect(await confirm(mine)).toMatchObject({ status: 409, body: { code: 'TRANSITION_NOT_ALLOWED' } });
    await h.json(`/api/tickets/${mine}/transitions`, {
      method: 'POST',
      token: h.tokens.engineer,
      body: { to: 'acknowledged' },
    });
    const done = await confirm(mine);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ state: 'closed' });
    expect(done.body.history.at(-1)).toMatchObject({ to: 'closed', actor: 'acme-rep' });
    expect((await confirm(theirs)).status).toBe(404);
  });

  it('a wall user limited to one customer sees only it and cannot write', async () => {
    h = await startPeopleHub();
    const { hashUserPassword } = await import('../../hub/people/passwords.ts');
    await h.people.store.addUser({
      name: 'globex-wall',
      role: 'wall',
      customers: ['globex'],
      passwordHash: await hashUserPassword('x'.repeat(12), 10),
    });
    const token = (await h.people.store.createToken('globex-wall', 'screen')).token;
    const devices = await h.json('/api/devices', { token });
    expect(devices.body.map((d: { serial: string }) => d.serial)).toEqual(['GLOBEX-0001']);
    expect((await h.json('/api/devices/ACME-0001', { token })).status).toBe(404);
    expect((await h.json('/api/tokens', { method: 'POST', token, body: {} })).status).toBe(403);
  });
});
