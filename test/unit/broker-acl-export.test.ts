/** `hezo broker-acl` rules agree with the embedded broker's own ACL (acl.ts) on every kind of topic. */
import { describe, expect, it } from 'vitest';
import { authorizeAgentPublish, authorizeAgentSubscribe } from '../../hub/broker/acl.ts';
import { brokerUsers, natsSubject, renderBrokerAcl } from '../../hub/broker/acl-export.ts';
import { HubConfig } from '../../hub/config.ts';
import { buildConfig } from '../../protocols/config-common.ts';
import { topics } from '../../protocols/topics.ts';

const config = buildConfig(HubConfig, {
  version: 1,
  api: { token: 'x'.repeat(16) },
  agents: [
    { id: 'agent-1', site: 'site-a', password: 'agent-1-secret' },
    { id: 'agent-2', site: 'site.b', passwordHash: 'scrypt$c2FsdA==$aGFzaA==' },
  ],
});

/** MQTT filter match (`+` one level, `#` the rest). */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

describe('broker ACL export', () => {
  it('an agent may publish a topic exactly when acl.ts allows it', () => {
    const [, agent1] = brokerUsers(config);
    const identity = { agentId: 'agent-1', site: 'site-a' };
    const candidates = [
      topics.presence('site-a', 'agent-1'),
      topics.heartbeat('site-a', 'agent-1'),
      topics.health('site-a', 'agent-1', 'SN-1'),
      topics.event('site-a', 'agent-1', 'SN-1'),
      topics.reply('site-a', 'agent-1'),
      topics.attachment('site-a', 'agent-1'),
      topics.command('site-a', 'agent-1'),
      topics.health('site.b', 'agent-2', 'SN-1'),
      topics.presence('site-b', 'agent-1'),
      'hezo/v1/site-a/agent-1/health/SN-1/extra',
      'hezo/v1/site-a/agent-1/unknown',
    ];
    for (const topic of candidates) {
      const generated = agent1?.publish.some((f) => matches(f, topic)) ?? false;
      expect([topic, generated]).toEqual([topic, authorizeAgentPublish(identity, topic).ok]);
    }
    expect(agent1?.subscribe).toEqual([topics.commandsFor('site-a', 'agent-1')]);
    expect(authorizeAgentSubscribe(identity, agent1?.subscribe[0] as string).ok).toBe(true);
  });

  it('NATS subjects: / -> ., + -> *, # -> >, a dot inside a level -> //', () => {
    expect(natsSubject('hezo/v1/site.b/agent-2/health/+')).toBe('hezo.v1.site//b.agent-2.health.*');
    expect(natsSubject('hezo/v1/#')).toBe('hezo.v1.>');
  });

  it('EMQX acl.conf: allow rules per agent, the hub everything, then deny all; no secret without --out', () => {
    const { files, notes } = renderBrokerAcl(config, 'emqx', false);
    const acl = files['acl.conf'] as string;
    expect(acl).toContain('{allow, {username, "hezo-hub"}, all, ["hezo/v1/#"]}.');
    expect(acl).toContain('{allow, {username, "agent-1"}, subscribe, ["hezo/v1/site-a/agent-1/cmd"]}.');
    expect(acl.trimEnd().endsWith('{deny, all}.')).toBe(true);
    expect(Object.keys(files)).toEqual(['acl.conf']);
    expect(notes.join('\n')).toContain('no plain password in the config for: hezo-hub, agent-2');
    expect(JSON.stringify(renderBrokerAcl(config, 'nats', false))).not.toContain('agent-1-secret');
  });

  it("EMQX users.csv (with --out) is the built-in database's plain import format, imported with type=plain", () => {
    const { files, notes } = renderBrokerAcl(config, 'emqx', true);
    const [header, ...rows] = (files['users.csv'] as string).trimEnd().split('\n');
    // emqx_authn_mnesia: a plain import reads `user_id`, `password` and `is_superuser` (only "true" makes one)
    expect(header).toBe('user_id,password,is_superuser');
    expect(rows).toEqual(['agent-1,agent-1-secret,false']);
    expect(notes.join('\n')).toContain('import_users?type=plain');
  });
});
