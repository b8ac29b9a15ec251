/** REST session behaviour: login paths, 400 reasons, lockout, 403 on expiry/logout, session cap, XSRF, SSH sessions. */

import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocols/clock.ts';
import type { Fleet, SimNetworkDeviceInfo } from '../../simulator/fleet.ts';
import { networked, restCall, restLogin, startSimFleet } from '../helpers/sim-clients.ts';
import { waitFor } from '../helpers/wait-for.ts';

const TUNING = { autoCalls: false, maxSessions: 3, lockoutAttempts: 3, lockoutMs: 60_000, sessionIdleMs: 600_000 };

describe('simulator REST sessions', () => {
  const clock = new ManualClock('2026-03-02T09:00:00Z');
  let xsrfFleet: Fleet;
  let oldFleet: Fleet;
  let closers: (() => Promise<void>)[] = [];
  let dev: SimNetworkDeviceInfo; // firmware 4.6.2: XSRF
  let old: SimNetworkDeviceInfo; // firmware 4.0.0: no XSRF

  beforeAll(async () => {
    const a = await startSimFleet({
      devices: 1,
      seed: 1,
      clock,
      models: ['StudioX50'],
      firmware: '4.6.2.412233',
      tuning: TUNING,
    });
    const b = await startSimFleet({
      devices: 1,
      seed: 2,
      clock,
      models: ['G7500'],
      firmware: '4.0.0.100885',
      tuning: TUNING,
    });
    xsrfFleet = a.fleet;
    oldFleet = b.fleet;
    closers = [a.close, b.close];
    dev = networked(xsrfFleet.devices())[0]!;
    old = networked(oldFleet.devices())[0]!;
  });
  afterAll(async () => {
    for (const close of closers) await close();
  });

  async function logoutAll(d: SimNetworkDeviceInfo, fleet: Fleet): Promise<void> {
    fleet.device(d.serial)?.sessions.clear();
  }

  it('logs in on /rest/current/session and /rest/session with the real reply shape', async () => {
    for (const path of ['/rest/current/session', '/rest/session']) {
      const { reply, session } = await restLogin(old, { path });
      expect(reply.status).toBe(200);
      expect(reply.json).toMatchObject({
        success: true,
        session: { userId: 'admin', role: 'ADMIN', clientType: 'WEB', isAuthenticated: true },
        loginStatus: { failedLogins: 0 },
      });
      expect(session?.sid).toMatch(/^PS/);
      expect(session?.xsrf).toBeUndefined();
      expect((await restCall(old, session, '/rest/system')).status).toBe(200);
    }
    await logoutAll(old, oldFleet);
  });

  it('answers 400 SessionRequestInvalid for bad credentials or a malformed body, then locks the port', async () => {
    const bad = await restLogin(old, { password: 'wrong' });
    expect(bad.reply.status).toBe(400);
    expect(bad.reply.json).toMatchObject({ success: false, reason: 'SessionRequestInvalid' });
    const { httpsRequest } = await import('../helpers/https-json.ts');
    const malformed = await httpsRequest(`${old.restUrl}/rest/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.json).toMatchObject({ reason: 'SessionRequestInvalid' });
    await restLogin(old, { password: 'wrong' });
    await restLogin(old, { password: 'wrong' }); // third failure locks
    const locked = await restLogin(old); // right password, but locked
    expect(locked.reply.status).toBe(400);
    expect(locked.reply.json).toMatchObject({ reason: 'SessionPortLockout' });
    clock.advance(60_000);
    expect((await restLogin(old)).reply.status).toBe(200);
    await logoutAll(old, oldFleet);
  });

  it('logout with DELETE /rest/session; the old cookie then gets 403, a second logout 400 SessionNoActiveSession', async () => {
    const { session } = await restLogin(old);
    expect((await restCall(old, session, '/rest/session', { method: 'DELETE' })).status).toBe(200);
    expect((await restCall(old, session, '/rest/system')).status).toBe(403);
    const again = await restCall(old, session, '/rest/session', { method: 'DELETE' });
    expect(again.status).toBe(400);
    expect(again.json).toMatchObject({ reason: 'SessionNoActiveSession' });
    expect((await restCall(old, undefined, '/rest/system')).status).toBe(403);
  });

  it('an idle session expires on the device clock: 403', async () => {
    const { session } = await restLogin(old);
    clock.advance(599_000);
    expect((await restCall(old, session, '/rest/system')).status).toBe(200); // touched: idle timer restarts
    clock.advance(600_001);
    expect((await restCall(old, session, '/rest/system')).status).toBe(403);
  });

  it('a second login with a live session cookie gets 400 SessionAlreadyActive', async () => {
    const { session } = await restLogin(old);
    const { httpsRequest } = await import('../helpers/https-json.ts');
    const again = await httpsRequest(`${old.restUrl}/rest/current/session`, {
      json: { user: old.username, password: old.password },
      headers: { cookie: `session_id=${session?.sid}` },
    });
    expect(again.status).toBe(400);
    expect(again.json).toMatchObject({ reason: 'SessionAlreadyActive' });
    await logoutAll(old, oldFleet);
  });

  it('caps concurrent sessions: a leaking client is refused until it logs out', async () => {
    const sessions = [];
    for (let i = 0; i < 3; i++) sessions.push((await restLogin(old)).session);
    const refused = await restLogin(old);
    expect(refused.reply.status).toBe(400);
    expect(refused.reply.json).toMatchObject({ reason: 'SessionLimitReached' });
    const list = (await restCall(old, sessions[0], '/rest/current/session/sessions')).json as {
      sessionList: unknown[];
    };
    expect(list.sessionList).toHaveLength(3);
    await restCall(old, sessions[0], '/rest/session', { method: 'DELETE' });
    expect((await restLogin(old)).reply.status).toBe(200);
    await logoutAll(old, oldFleet);
  });

  it('firmware >= 4.6.2: XSRF-TOKEN cookie at login, x-xsrf-token required on later requests', async () => {
    const { reply, session } = await restLogin(dev);
    expect(reply.setCookies.get('XSRF-TOKEN')).toMatch(/^[0-9a-f]{32}$/);
    expect((await restCall(dev, session, '/rest/system', { withXsrf: false })).status).toBe(403);
    const ok = await restCall(dev, session, '/rest/system');
    expect(ok.status).toBe(200);
    expect(ok.setCookies.get('XSRF-TOKEN')).toBe(session?.xsrf);
    await logoutAll(dev, xsrfFleet);
  });

  it('an interactive SSH shell shows the whoami banner and prompt, runs commands and is listed as an SSH session', async () => {
    const client = new ssh2.Client();
    const ready = new Promise<void>((resolve, reject) => {
      client.on('ready', () => resolve()).on('error', reject);
    });
    client.connect({ host: dev.address, port: dev.sshPort, username: dev.username, password: dev.password });
    await ready;
    try {
      const stream = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
        client.shell({ term: 'vt100' }, (err, s) => (err ? reject(err) : resolve(s))),
      );
      let out = '';
      stream.on('data', (c: Buffer) => {
        out += c.toString('utf8');
      });
      await waitFor(() => out.includes('SNMP Enabled:') && out.endsWith('-> '), { what: 'banner and prompt' });
      const { session } = await restLogin(dev);
      const list = (await restCall(dev, session, '/rest/current/session/sessions')).json as {
        sessionList: { clientType: string }[];
      };
      expect(list.sessionList.map((s) => s.clientType).sort()).toEqual(['SSH', 'WEB']);
      stream.write('getcallstate\r');
      await waitFor(() => out.includes('cs: call[2] inactive'), { what: 'getcallstate output' });
      stream.write('nonsense\r');
      await waitFor(() => out.includes('error: command not found'), { what: 'unknown command' });
      const closed = new Promise((resolve) => stream.on('close', resolve));
      stream.write('exit\r');
      await closed;
    } finally {
      client.end();
    }
    await waitFor(
      () => [...(xsrfFleet.device(dev.serial)?.sessions.values() ?? [])].every((s) => s.clientType === 'WEB'),
      {
        what: 'SSH session removed',
      },
    );
  });
});
