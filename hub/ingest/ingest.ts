/**
 * The boundary for every agent message: flood guard, topic, identity, schema, clock skew.
 * A rejected message is counted by reason (`hezo_messages_rejected_total{reason}`), logged once per
 * (client, reason) per minute, and dropped. Accepted ones go on the bus (`ingest:*`) or to the command replies.
 * Never throws: the hub stays up under any payload.
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../../protocols/clock.ts';
import { AppError, ErrorCode, isAppError } from '../../protocols/errors.ts';
import { decodeHealth } from '../../protocols/health-validator.ts';
import { type CommandReply, decodeMessage, MAX_BYTES } from '../../protocols/messages.ts';
import type { ParsedTopic } from '../../protocols/topics.ts';
import type { AgentIdentity } from '../broker/credentials.ts';
import type { DetectionConfig } from '../config.ts';
import type { HubBus } from '../events.ts';
import type { DeviceOwnership } from '../registry/ownership.ts';
import { AgentClocks, describeOffset } from './agent-clocks.ts';
import { TopicCache } from './topic-cache.ts';

/** Reasons beyond the protocol error codes. */
export const RejectReason = {
  RATE_LIMITED: 'RATE_LIMITED',
  CLOCK_SKEW: 'CLOCK_SKEW',
  STALE_RECORD: 'STALE_RECORD',
  WRONG_DIRECTION: 'WRONG_DIRECTION',
} as const;

export interface MessageSource {
  clientId: string;
  /** The authenticated agent; undefined for an anonymous client or an external broker (identity = topic). */
  identity: AgentIdentity | undefined;
  /** Already held to `maxMessagesPerSecond` by the transport, which delays instead of dropping (external broker). */
  isPaced?: boolean;
}

export interface IngestDeps {
  bus: HubBus;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  detection: Readonly<DetectionConfig>;
  maxMessagesPerSecond: number;
  /** Registered agents (config `agents[]`): their site is checked for messages that carry no client identity. */
  knownAgent(agentId: string): AgentIdentity | undefined;
  onReply(reply: CommandReply, from: { site: string; agentId: string }): void;
  /** Which site owns which device (absent: no ownership checks, e.g. unit tests of the ingest alone). */
  ownership?(): DeviceOwnership | undefined;
}

const LOG_EVERY_MS = 60_000;
/** Agent clock offsets within this are transit and poll-duration noise: timestamps are used as sent. */
export const CLOCK_TOLERANCE_MS = 2000;

export class Ingest {
  private readonly deps: IngestDeps;
  private readonly inTotal: Counter<'kind'>;
  /** Labelled children, looked up once (prom-client hashes the labels on every `labels()` call). */
  private readonly inByKind = new Map<string, Counter.Internal>();
  private readonly rejectedTotal: Counter<'reason'>;
  private readonly rates = new Map<string, { windowStart: number; count: number }>();
  private readonly lastLogged = new Map<string, number>();
  private readonly log: Logger;
  private readonly topics = new TopicCache();
  /** Each agent's measured clock offset: timestamps are corrected or rejected by one rule (agent-clocks.ts). */
  readonly clocks: AgentClocks;

  constructor(deps: IngestDeps) {
    this.deps = deps;
    this.clocks = new AgentClocks({
      toleranceMs: CLOCK_TOLERANCE_MS,
      maxCorrectableMs: deps.detection.maxClockSkewMs,
      metrics: deps.metrics,
    });
    this.log = deps.logger.child({ component: 'ingest' });
    this.inTotal = new Counter({
      name: 'hezo_messages_in_total',
      help: 'Agent messages accepted at the boundary, by kind',
      labelNames: ['kind'],
      registers: [deps.metrics],
    });
    this.rejectedTotal = new Counter({
      name: 'hezo_messages_rejected_total',
      help: 'Agent messages rejected at the boundary, by reason',
      labelNames: ['reason'],
      registers: [deps.metrics],
    });
  }

  /** One message from the broker. */
  handle(topic: string, payload: Buffer, source: MessageSource): void {
    const now = this.deps.clock.now();
    if (source.isPaced !== true && this.isOverRate(source, topic, now)) {
      this.reject(RejectReason.RATE_LIMITED, source.clientId, topic, now, 'message rate over the per-client cap');
      return;
    }
    try {
      this.accept(topic, payload, source, now);
    } catch (err) {
      const reason = err instanceof IngestRejection ? err.reason : isAppError(err) ? err.code : ErrorCode.INTERNAL;
      this.reject(reason, source.clientId, topic, now, err instanceof Error ? err.message : String(err));
    }
  }

  /** Prune the per-client maps (called periodically by the broker module). */
  sweep(): void {
    const now = this.deps.clock.now();
    for (const [key, rate] of this.rates) if (now - rate.windowStart > 10_000) this.rates.delete(key);
    for (const [key, at] of this.lastLogged) if (now - at > LOG_EVERY_MS) this.lastLogged.delete(key);
  }

  private isOverRate(source: MessageSource, topic: string, now: number): boolean {
    // An external broker does not say which client published: the rate key is then the topic's agent.
    const key =
      source.identity !== undefined || source.clientId !== 'external' ? source.clientId : topic.split('/', 4)[3];
    const k = key ?? '';
    const rate = this.rates.get(k);
    if (rate === undefined || now - rate.windowStart >= 1000) {
      this.rates.set(k, { windowStart: now, count: 1 });
      return false;
    }
    rate.count++;
    return rate.count > this.deps.maxMessagesPerSecond;
  }

  private accept(topic: string, payload: Buffer, source: MessageSource, now: number): void {
    const parsed = this.topics.parse(topic);
    this.checkTopicIdentity(parsed, source);
    const { bus } = this.deps;
    switch (parsed.kind) {
      case 'health': {
        // Keep the validated JSON text: the outage store writes it as is instead of serialising the record again.
        const json = payload.length <= MAX_BYTES.health ? payload.toString('utf8') : undefined;
        // The compiled validator (from the zod schema; zod still words every rejection): protocols/health-validator.ts.
        const record = decodeHealth(json ?? payload);
        mustMatch('health.agentId', record.agentId, parsed.agentId);
        mustMatch('health.site', record.site, parsed.site);
        mustMatch('health.identity.serial', record.identity.serial, parsed.serial);
        const observedMs = Date.parse(record.observedAt);
        if (!record.replayed) this.clocks.noteLiveRecord(parsed.agentId, observedMs, now);
        const clockOffsetMs = this.checkRecordTime(parsed.agentId, observedMs, now);
        this.checkOwner(parsed, record.identity.serial, record.identity.model);
        this.countIn('health');
        // Written out (not `...base`): one object per record, no spread copy.
        bus.emit('ingest:health', {
          site: parsed.site,
          agentId: parsed.agentId,
          clientId: source.clientId,
          receivedAtMs: now,
          clockOffsetMs,
          message: record,
          json,
          bytes: json === undefined ? undefined : payload,
        });
        return;
      }
      case 'event': {
        const event = decodeMessage('event', payload);
        mustMatch('event.agentId', event.agentId, parsed.agentId);
        mustMatch('event.serial', event.serial, parsed.serial);
        const clockOffsetMs = this.checkRecordTime(parsed.agentId, Date.parse(event.at), now);
        this.checkOwner(parsed, event.serial);
        this.countIn('event');
        bus.emit('ingest:event', { ...baseOf(parsed, source, now), clockOffsetMs, message: event });
        return;
      }
      case 'presence': {
        const presence = decodeMessage('presence', payload);
        mustMatch('presence.agentId', presence.agentId, parsed.agentId);
        mustMatch('presence.site', presence.site, parsed.site);
        const owned = this.ownedPresence(parsed, presence.devices);
        this.countIn('presence');
        bus.emit('ingest:presence', {
          ...baseOf(parsed, source, now),
          message: owned === undefined ? presence : { ...presence, devices: owned },
        });
        return;
      }
      case 'heartbeat': {
        const heartbeat = decodeMessage('heartbeat', payload);
        mustMatch('heartbeat.agentId', heartbeat.agentId, parsed.agentId);
        this.clocks.noteHeartbeat(parsed.agentId, Date.parse(heartbeat.at), now);
        this.countIn('heartbeat');
        bus.emit('ingest:heartbeat', {
          ...baseOf(parsed, source, now),
          clockOffsetMs: this.clocks.offsetMs(parsed.agentId),
          message: heartbeat,
        });
        return;
      }
      case 'reply': {
        const reply = decodeMessage('reply', payload);
        this.countIn('reply');
        this.deps.onReply(reply, { site: parsed.site, agentId: parsed.agentId });
        return;
      }
      case 'attachment': {
        const chunk = decodeMessage('attachment', payload);
        this.checkOwner(parsed, chunk.serial);
        this.countIn('attachment');
        bus.emit('attachment-chunk', { ...baseOf(parsed, source, now), message: chunk });
        return;
      }
      case 'cmd':
        throw new AppError(ErrorCode.TOPIC_INVALID, 'cmd: hub->agent topic published by a client');
      default: {
        const never: never = parsed.kind;
        throw new AppError(ErrorCode.TOPIC_INVALID, `unknown kind ${String(never)}`);
      }
    }
  }

  private countIn(kind: string): void {
    let child = this.inByKind.get(kind);
    if (child === undefined) {
      child = this.inTotal.labels(kind);
      this.inByKind.set(kind, child);
    }
    child.inc();
  }

  /** The device must belong to the topic's site (hub/registry/ownership.ts). */
  private checkOwner(parsed: ParsedTopic, serial: string, model?: string): void {
    const verdict = this.deps.ownership?.()?.check({ site: parsed.site, agentId: parsed.agentId }, serial, model);
    if (verdict !== undefined && !verdict.ok) throw new IngestRejection(verdict.reason, verdict.detail);
  }

  /** The presence list the hub acts on (unknown serials left out), or undefined when unchanged. */
  private ownedPresence(parsed: ParsedTopic, devices: readonly string[] | undefined): string[] | undefined {
    const ownership = this.deps.ownership?.();
    if (ownership === undefined || devices === undefined) return undefined;
    const verdict = ownership.presenceDevices({ site: parsed.site, agentId: parsed.agentId }, devices);
    if ('devices' in verdict) return verdict.devices.length === devices.length ? undefined : verdict.devices;
    if (!verdict.ok) throw new IngestRejection(verdict.reason, verdict.detail);
    return undefined;
  }

  /** The topic's agent must be the connected client's identity (or, without one, a registered agent's site). */
  private checkTopicIdentity(parsed: ParsedTopic, source: MessageSource): void {
    const expected = source.identity ?? this.deps.knownAgent(parsed.agentId);
    if (expected === undefined) return;
    if (expected.agentId !== parsed.agentId || expected.site !== parsed.site) {
      throw new AppError(
        ErrorCode.TOPIC_MISMATCH,
        `topic: expected agent ${expected.site}/${expected.agentId}, got ${parsed.site}/${parsed.agentId}`,
      );
    }
  }

  /**
   * DECISION: the agent's measured clock offset corrects its timestamps, or rejects them beyond
   * `maxClockSkewMs` in either direction (CLOCK_SKEW, agent-clocks.ts). A corrected time still further in the
   * future than `maxClockSkewMs` is rejected (CLOCK_SKEW): it would sort ahead of every real record. One older
   * than `maxReplayAgeMs` is rejected (STALE_RECORD). Anything between is accepted; the detector treats old or
   * replayed records as history, never as live state. Returns the offset applied (undefined: none).
   */
  private checkRecordTime(agentId: string, atMs: number, now: number): number | undefined {
    const judged = this.clocks.judge(agentId, atMs);
    if (judged.action === 'rejected') {
      throw new IngestRejection(RejectReason.CLOCK_SKEW, `time: ${describeOffset(judged.offsetMs)} of the hub`);
    }
    const correctedMs = judged.correctedMs;
    if (correctedMs - now > this.deps.detection.maxClockSkewMs) {
      throw new IngestRejection(RejectReason.CLOCK_SKEW, `time: ${correctedMs - now} ms ahead of the hub clock`);
    }
    if (now - correctedMs > this.deps.detection.maxReplayAgeMs) {
      throw new IngestRejection(RejectReason.STALE_RECORD, `time: ${now - correctedMs} ms old`);
    }
    return judged.action === 'corrected' ? judged.offsetMs : undefined;
  }

  private reject(reason: string, clientId: string, topic: string, now: number, detail: string): void {
    this.rejectedTotal.labels(reason).inc();
    this.deps.bus.emit('rejected', { reason, clientId, topic });
    const key = `${clientId}\u0000${reason}`;
    const last = this.lastLogged.get(key);
    if (last !== undefined && now - last < LOG_EVERY_MS) return;
    this.lastLogged.set(key, now);
    this.log.warn({ clientId, reason, topic: topic.slice(0, 200), detail: detail.slice(0, 300) }, 'message rejected');
  }
}

/** The fields every inbound bus event carries. */
function baseOf(parsed: ParsedTopic, source: MessageSource, now: number) {
  return { site: parsed.site, agentId: parsed.agentId, clientId: source.clientId, receivedAtMs: now };
}

/** A rejection whose reason is not a protocol error code. */
class IngestRejection extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

function mustMatch(field: string, actual: string, expected: string | undefined): void {
  if (actual !== expected) {
    throw new AppError(
      ErrorCode.TOPIC_MISMATCH,
      `${field}: expected ${JSON.stringify(expected)} (from the topic), got ${JSON.stringify(actual)}`,
    );
  }
}
