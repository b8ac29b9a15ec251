/** SLA-2 contract coverage, registry seeding/editing, credentials and topic ACL. */
import { describe, expect, it } from 'vitest';
import { checkToken } from '../../hub/api/auth.ts';
import { authorizeAgentPublish, authorizeAgentSubscribe, mayRetain } from '../../hub/broker/acl.ts';
import { AgentCredentials, hashPassword } from '../../hub/broker/credentials.ts';
import { openDb } from '../../hub/db.ts';
import { addYears, contractEnd, localDate } from '../../hub/registry/contract-dates.ts';
import { Registry } from '../../hub/registry/registry.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { topics } from '../../protocols/topics.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { makeHubConfig } from '../helpers/hub-fixture.ts';

const at = (iso: string) => Date.parse(iso);

describe('SLA-2 contract dates', () => {
  it('covers start .. start + term + extension years - 1 day, inclusive', () => {
    expect(contractEnd('2024-03-15', 1, 0)).toBe('2025-03-14');
    expect(contractEnd('2024-03-15', 3, 2)).toBe('2029-03-14');
    expect(contractEnd('2024-01-01', 2, 0)).toBe('2025-12-31');
    expect(addYears('2024-02-29', 1)).toBe('2025-02-28');
  });

  it('uses the local date of the business time zone', () => {
    expect(localDate(at('2026-12-31T23:30:00Z'), 'Europe/Warsaw')).toBe('2027-01-01');
  });

  it('reports the active contract of a device, an expired one as inactive, extensions included', async () => {
    const config = makeHubConfig({
      devices: [{ serial: 'SN-1', model: 'StudioX30', site: 'site-a', customer: 'acme' }],
      contracts: [
        { number: 'OLD', customer: 'acme', start: '2020-01-01', termYears: 1, serials: ['SN-1'] },
        { number: 'NEW', customer: 'acme', start: '2023-06-01', termYears: 2, extensionYears: 1, serials: ['SN-1'] },
      ],
      maintenance: [{ site: 'site-a', from: '2026-01-10T08:00:00Z', to: '2026-01-10T10:00:00Z' }],
    });
    const registry = new Registry(new SqliteStore(openDb(':memory:')), config, () => at('2026-01-01T12:00:00Z'));
    await registry.start();
    expect(registry.contractFor('SN-1', at('2026-05-31T12:00:00Z'))).toMatchObject({
      number: 'NEW',
      end: '2026-05-31',
      isActive: true,
    });
    expect(registry.contractFor('SN-1', at('2026-06-01T12:00:00Z'))).toMatchObject({ number: 'NEW', isActive: false });
    expect(registry.contractFor('SN-1', at('2020-06-01T12:00:00Z'))).toMatchObject({ number: 'OLD', isActive: true });
    expect(registry.contractFor('SN-2', at('2026-01-01T00:00:00Z'))).toBeUndefined();
    expect(registry.isInMaintenance('SN-1', 'site-a', at('2026-01-10T09:00:00Z'))).toBe(true);
    expect(registry.isInMaintenance('SN-1', 'site-a', at('2026-01-10T10:00:00Z'))).toBe(false);
    expect(registry.isInMaintenance('SN-9', 'site-b', at('2026-01-10T09:00:00Z'))).toBe(false);

    registry.ensureFromRecord(makeHealthRecord({ serial: 'SN-AUTO', model: 'StudioE70' }));
    expect(registry.get('SN-AUTO')).toMatchObject({
      model: 'StudioE70',
      site: 'site-a',
      customer: 'acme',
      source: 'auto',
    });
    await registry.idle();
    expect(registry.get('SN-AUTO')?.source).toBe('auto'); // stored as it was shown
    await registry.upsertContract({
      number: 'C-3',
      customer: 'acme',
      start: '2026-01-01',
      termYears: 3,
      extensionYears: 0,
      serials: ['SN-AUTO'],
    });
    expect(registry.contract('C-3')).toMatchObject({ end: '2028-12-31', isActive: true, serials: ['SN-AUTO'] });
  });
});

describe('broker security helpers', () => {
  it('verifies scrypt hashes and plain config passwords, never a wrong one', async () => {
    const creds = new AgentCredentials([
      { id: 'a1', site: 's1', passwordHash: hashPassword('first-password') },
      { id: 'a2', site: 's2', password: 'second-password' },
    ]);
    expect(await creds.verify('a1', Buffer.from('first-password'))).toEqual({ agentId: 'a1', site: 's1' });
    expect(await creds.verify('a1', Buffer.from('first-password'))).toEqual({ agentId: 'a1', site: 's1' }); // cached
    expect(await creds.verify('a2', Buffer.from('second-password'))).toEqual({ agentId: 'a2', site: 's2' });
    expect(await creds.verify('a1', Buffer.from('second-password'))).toBeUndefined();
    expect(await creds.verify('nobody', Buffer.from('first-password'))).toBeUndefined();
    expect(await creds.verify(undefined, undefined)).toBeUndefined();
  });

  it('lets an agent publish only agent->hub kinds under its own prefix, and subscribe only to its commands', () => {
    const me = { agentId: 'a1', site: 's1' };
    expect(authorizeAgentPublish(me, topics.health('s1', 'a1', 'SN-1'))).toEqual({ ok: true });
    expect(authorizeAgentPublish(me, topics.health('s2', 'a2', 'SN-1'))).toEqual({
      ok: false,
      reason: 'foreign-topic',
    });
    expect(authorizeAgentPublish(me, topics.health('s2', 'a1', 'SN-1'))).toEqual({
      ok: false,
      reason: 'foreign-topic',
    });
    expect(authorizeAgentPublish(me, topics.command('s1', 'a1'))).toEqual({ ok: false, reason: 'wrong-direction' });
    expect(authorizeAgentPublish(me, '$SYS/x')).toEqual({ ok: false, reason: 'reserved-topic' });
    expect(authorizeAgentPublish(me, 'hezo/v1/s1/a1/nope')).toEqual({ ok: false, reason: 'bad-topic' });
    expect(authorizeAgentSubscribe(me, topics.commandsFor('s1', 'a1'))).toEqual({ ok: true });
    expect(authorizeAgentSubscribe(me, 'hezo/v1/s1/+/cmd').ok).toBe(false);
    expect(mayRetain(topics.presence('s1', 'a1'))).toBe(true);
    expect(mayRetain(topics.health('s1', 'a1', 'SN-1'))).toBe(false);
  });

  it('checkToken: admin, read or null', () => {
    const config = makeHubConfig();
    expect(checkToken(config, config.api.token)).toBe('admin');
    expect(checkToken(config, config.api.readTokens[0])).toBe('read');
    expect(checkToken(config, 'nope')).toBeNull();
    expect(checkToken(config, '')).toBeNull();
    expect(checkToken(config, undefined)).toBeNull();
  });
});
