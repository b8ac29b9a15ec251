/**
 * Topic authorisation for MQTT clients (pure): an agent publishes only agent->hub kinds under its own
 * `topics.agentPrefix(site, id)` and subscribes only to its own `cmd` topic.
 */
import { AGENT_TO_HUB_KINDS, parseTopic, topics } from '../../protocols/topics.ts';
import type { AgentIdentity } from './credentials.ts';

export type AclDecision = { ok: true } | { ok: false; reason: string };

const AGENT_KINDS: ReadonlySet<string> = new Set(AGENT_TO_HUB_KINDS);
const ALLOW: AclDecision = { ok: true };

/** `identity` undefined = an anonymous client (only when `mqtt.allowAnonymous`): any agent's prefix, agent kinds only. */
export function authorizeAgentPublish(identity: AgentIdentity | undefined, topic: string): AclDecision {
  if (topic.startsWith('$')) return { ok: false, reason: 'reserved-topic' };
  if (identity !== undefined && !topic.startsWith(topics.agentPrefix(identity.site, identity.agentId))) {
    return { ok: false, reason: 'foreign-topic' };
  }
  let kind: string;
  try {
    kind = parseTopic(topic).kind;
  } catch {
    return { ok: false, reason: 'bad-topic' };
  }
  return AGENT_KINDS.has(kind) ? ALLOW : { ok: false, reason: 'wrong-direction' };
}

export function authorizeAgentSubscribe(identity: AgentIdentity | undefined, filter: string): AclDecision {
  if (identity === undefined) {
    try {
      return parseTopic(filter).kind === 'cmd' ? ALLOW : { ok: false, reason: 'not-a-command-topic' };
    } catch {
      return { ok: false, reason: 'bad-filter' };
    }
  }
  return filter === topics.commandsFor(identity.site, identity.agentId)
    ? ALLOW
    : { ok: false, reason: 'foreign-filter' };
}

/** Only presence (the retained online/offline and the Last Will) may be retained by the broker. */
export function mayRetain(topic: string): boolean {
  return topic.endsWith('/presence');
}
