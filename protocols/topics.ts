/**
 * MQTT topic scheme, version 1. Topics are built and parsed only here.
 *
 *   hezo/v1/<site>/<agentId>/presence            agent -> hub  retained online/offline (Last Will = offline)
 *   hezo/v1/<site>/<agentId>/heartbeat           agent -> hub  periodic liveness with counters
 *   hezo/v1/<site>/<agentId>/health/<serial>     agent -> hub  one normalised health record per poll
 *   hezo/v1/<site>/<agentId>/event/<serial>      agent -> hub  device events (trap, device gone, reboot seen)
 *   hezo/v1/<site>/<agentId>/reply               agent -> hub  replies to commands (correlation id in payload)
 *   hezo/v1/<site>/<agentId>/attachment          agent -> hub  attachment chunks (transfer id in payload)
 *   hezo/v1/<site>/<agentId>/cmd                 hub -> agent  commands (collect logs, diagnose, poll now)
 */
import { AppError, ErrorCode } from './errors.ts';

export const TOPIC_ROOT = 'hezo/v1';

/** A topic segment: no MQTT wildcards, no separators, no leading `$`. */
export const SEGMENT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const AGENT_TO_HUB_KINDS = ['presence', 'heartbeat', 'health', 'event', 'reply', 'attachment'] as const;
export const HUB_TO_AGENT_KINDS = ['cmd'] as const;
export type AgentToHubKind = (typeof AGENT_TO_HUB_KINDS)[number];
export type HubToAgentKind = (typeof HUB_TO_AGENT_KINDS)[number];
export type TopicKind = AgentToHubKind | HubToAgentKind;

/** Kinds whose topic ends with a device serial. */
const PER_DEVICE: ReadonlySet<TopicKind> = new Set(['health', 'event']);

function segment(name: string, value: string): string {
  if (!SEGMENT_PATTERN.test(value)) {
    throw new AppError(
      ErrorCode.TOPIC_INVALID,
      `${name}: expected letters, digits, '_', '-', '.', got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function base(site: string, agentId: string): string {
  return `${TOPIC_ROOT}/${segment('site', site)}/${segment('agentId', agentId)}`;
}

export const topics = {
  presence: (site: string, agentId: string) => `${base(site, agentId)}/presence`,
  heartbeat: (site: string, agentId: string) => `${base(site, agentId)}/heartbeat`,
  health: (site: string, agentId: string, serial: string) =>
    `${base(site, agentId)}/health/${segment('serial', serial)}`,
  event: (site: string, agentId: string, serial: string) => `${base(site, agentId)}/event/${segment('serial', serial)}`,
  reply: (site: string, agentId: string) => `${base(site, agentId)}/reply`,
  attachment: (site: string, agentId: string) => `${base(site, agentId)}/attachment`,
  command: (site: string, agentId: string) => `${base(site, agentId)}/cmd`,
  /** Everything an agent may publish: the hub subscribes to these. */
  allFromAgents: () => [
    `${TOPIC_ROOT}/+/+/presence`,
    `${TOPIC_ROOT}/+/+/heartbeat`,
    `${TOPIC_ROOT}/+/+/health/+`,
    `${TOPIC_ROOT}/+/+/event/+`,
    `${TOPIC_ROOT}/+/+/reply`,
    `${TOPIC_ROOT}/+/+/attachment`,
  ],
  /** Every agent's command replies (a cluster node hears replies to its commands whoever holds the site). */
  allReplies: () => `${TOPIC_ROOT}/+/+/reply`,
  /** Everything the agents of one site may publish (a hub node subscribes per site of the partitions it holds). */
  fromAgentsOfSite: (site: string) => {
    const prefix = `${TOPIC_ROOT}/${segment('site', site)}/+`;
    return [
      `${prefix}/presence`,
      `${prefix}/heartbeat`,
      `${prefix}/health/+`,
      `${prefix}/event/+`,
      `${prefix}/reply`,
      `${prefix}/attachment`,
    ];
  },
  /** The one filter an agent subscribes to. */
  commandsFor: (site: string, agentId: string) => `${base(site, agentId)}/cmd`,
  /** Prefix under which one agent may publish (used by the broker's authorisation). */
  agentPrefix: (site: string, agentId: string) => `${base(site, agentId)}/`,
};

export interface ParsedTopic {
  site: string;
  agentId: string;
  kind: TopicKind;
  serial?: string;
}

/** Parse a concrete topic of the v1 scheme; throws TOPIC_INVALID naming what is wrong. */
export function parseTopic(topic: string): ParsedTopic {
  const parts = topic.split('/');
  if (parts[0] !== 'hezo')
    throw new AppError(ErrorCode.TOPIC_INVALID, `topic: expected to start with "hezo/", got "${topic}"`);
  if (parts[1] !== 'v1') {
    throw new AppError(ErrorCode.SCHEMA_VERSION, `topic: expected version segment "v1", got "${parts[1] ?? ''}"`);
  }
  const [, , site, agentId, kind, serial, ...rest] = parts;
  if (site === undefined || !SEGMENT_PATTERN.test(site)) {
    throw new AppError(ErrorCode.TOPIC_INVALID, `topic: bad site segment in "${topic}"`);
  }
  if (agentId === undefined || !SEGMENT_PATTERN.test(agentId)) {
    throw new AppError(ErrorCode.TOPIC_INVALID, `topic: bad agentId segment in "${topic}"`);
  }
  const known = [...AGENT_TO_HUB_KINDS, ...HUB_TO_AGENT_KINDS] as readonly string[];
  if (kind === undefined || !known.includes(kind)) {
    throw new AppError(ErrorCode.TOPIC_INVALID, `topic: unknown kind "${kind ?? ''}" in "${topic}"`);
  }
  const typedKind = kind as TopicKind;
  if (rest.length > 0) throw new AppError(ErrorCode.TOPIC_INVALID, `topic: too many segments in "${topic}"`);
  if (PER_DEVICE.has(typedKind)) {
    if (serial === undefined || !SEGMENT_PATTERN.test(serial)) {
      throw new AppError(ErrorCode.TOPIC_INVALID, `topic: "${kind}" needs a device serial segment in "${topic}"`);
    }
    return { site, agentId, kind: typedKind, serial };
  }
  if (serial !== undefined) throw new AppError(ErrorCode.TOPIC_INVALID, `topic: unexpected segment after "${kind}"`);
  return { site, agentId, kind: typedKind };
}
