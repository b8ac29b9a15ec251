/**
 * A size gate in front of the MQTT parser: reads each packet's fixed header as the bytes arrive and closes the
 * connection as soon as a packet announces more than it may carry - before any of those bytes are buffered.
 * - The first packet must be CONNECT, at most `maxConnectBytes` (checked before authentication).
 * - PUBLISH: at most the payload limit of its topic kind (`MAX_BYTES` in protocols/messages.ts) plus the
 *   topic and packet id; a topic that is not a hezo topic gets the largest limit (the ACL refuses it anyway).
 * - Any other packet: at most `OTHER_MAX_BYTES`.
 */
import type { Duplex } from 'node:stream';
import { MAX_BYTES } from '../../protocols/messages.ts';
import type { TopicKind } from '../../protocols/topics.ts';

const CONNECT = 1;
const PUBLISH = 3;
const OTHER_MAX_BYTES = 64 * 1024;
const LARGEST_PAYLOAD = Math.max(...Object.values(MAX_BYTES));
/** Topic length field + the longest topic we accept + packet id. */
const PUBLISH_OVERHEAD = 2 + 1024 + 2;

export interface GateLimits {
  maxConnectBytes: number;
}

/** Pure parser of fixed headers; `feed` returns why the connection must close, or undefined. */
export class PacketGate {
  private readonly limits: GateLimits;
  private seenConnect = false;
  private phase: 'type' | 'length' | 'topic-length' | 'topic' | 'body' = 'type';
  private type = 0;
  private qos = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  /** Bytes of the current packet's body still to pass. */
  private remaining = 0;
  private topicLength = 0;
  private topicParts: Buffer[] = [];
  private topicGot = 0;
  private topicLengthBytes: number[] = [];

  constructor(limits: GateLimits) {
    this.limits = limits;
  }

  feed(chunk: Buffer): string | undefined {
    let i = 0;
    while (i < chunk.length) {
      switch (this.phase) {
        case 'type': {
          const byte = chunk[i++]!;
          this.type = byte >> 4;
          this.qos = (byte >> 1) & 3;
          this.length = 0;
          this.multiplier = 1;
          this.lengthBytes = 0;
          this.phase = 'length';
          if (!this.seenConnect && this.type !== CONNECT) return 'first packet is not CONNECT';
          break;
        }
        case 'length': {
          const byte = chunk[i++]!;
          this.length += (byte & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          this.lengthBytes++;
          if (byte & 0x80) {
            if (this.lengthBytes >= 4) return 'malformed remaining length';
            break;
          }
          const why = this.checkAnnounced();
          if (why !== undefined) return why;
          this.remaining = this.length;
          this.phase = this.type === PUBLISH && this.length > 0 ? 'topic-length' : 'body';
          if (this.type === PUBLISH) this.topicLengthBytes = [];
          if (this.remaining === 0) this.phase = 'type';
          break;
        }
        case 'topic-length': {
          this.topicLengthBytes.push(chunk[i++]!);
          this.remaining--;
          if (this.topicLengthBytes.length === 2) {
            this.topicLength = (this.topicLengthBytes[0]! << 8) | this.topicLengthBytes[1]!;
            if (this.topicLength > 1024) return `topic of ${this.topicLength} bytes`;
            this.topicParts = [];
            this.topicGot = 0;
            this.phase = this.topicLength === 0 ? 'body' : 'topic';
          }
          if (this.remaining === 0) this.phase = 'type';
          break;
        }
        case 'topic': {
          const take = Math.min(this.topicLength - this.topicGot, chunk.length - i, this.remaining);
          // Usually the whole topic is in one chunk: kept as a view, decoded once (no per-byte copies).
          this.topicParts.push(chunk.subarray(i, i + take));
          this.topicGot += take;
          i += take;
          this.remaining -= take;
          if (this.topicGot === this.topicLength) {
            const parts = this.topicParts;
            this.topicParts = [];
            const why = this.checkPublish(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
            if (why !== undefined) return why;
            this.phase = 'body';
          }
          if (this.remaining === 0) this.phase = 'type';
          break;
        }
        case 'body': {
          const take = Math.min(this.remaining, chunk.length - i);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.phase = 'type';
          break;
        }
      }
    }
    return undefined;
  }

  private checkAnnounced(): string | undefined {
    if (this.type === CONNECT) {
      if (this.seenConnect) return 'second CONNECT';
      this.seenConnect = true;
      return this.length > this.limits.maxConnectBytes
        ? `CONNECT of ${this.length} bytes (limit ${this.limits.maxConnectBytes})`
        : undefined;
    }
    if (this.type === PUBLISH) {
      return this.length > LARGEST_PAYLOAD + PUBLISH_OVERHEAD
        ? `PUBLISH of ${this.length} bytes (limit ${LARGEST_PAYLOAD + PUBLISH_OVERHEAD})`
        : undefined;
    }
    return this.length > OTHER_MAX_BYTES ? `packet type ${this.type} of ${this.length} bytes` : undefined;
  }

  /** The payload limit of the topic's kind (hezo/v1/<site>/<agent>/<kind>[/<serial>]), read from the bytes. */
  private checkPublish(topic: Buffer): string | undefined {
    const kind = kindOf(topic);
    const payloadLimit =
      kind !== undefined && Object.hasOwn(MAX_BYTES, kind) ? MAX_BYTES[kind as TopicKind] : LARGEST_PAYLOAD;
    const limit = 2 + this.topicLength + (this.qos > 0 ? 2 : 0) + payloadLimit;
    return this.length > limit
      ? `PUBLISH on ${kind ?? 'an unknown kind'} of ${this.length} bytes (limit ${limit})`
      : undefined;
  }
}

const SLASH = 0x2f;

/** The fifth `/`-separated segment of a topic (its kind), without decoding the whole topic; undefined if none. */
function kindOf(topic: Buffer): string | undefined {
  let slashes = 0;
  let start = -1;
  for (let i = 0; i < topic.length; i++) {
    if (topic[i] !== SLASH) continue;
    slashes++;
    if (slashes === 4) start = i + 1;
    else if (slashes === 5) return topic.toString('utf8', start, i);
  }
  return start < 0 ? undefined : topic.toString('utf8', start);
}

/**
 * Puts the gate in front of everything that reads `conn`: each chunk the transport pushes into the stream (a TCP or
 * TLS socket's reads, a websocket stream's messages) passes the gate before it is buffered, so neither aedes's
 * `read(null)` batches nor any other reader ever sees bytes of a refused packet; a violation closes the connection
 * (`onViolation` is told why first). The stream itself is given to aedes: no wrapping stream, so one stream layer
 * (its events, callbacks and writes) less per packet on the hot path; the socket's own write queue already batches
 * a tick's PUBACKs into one writev.
 */
export function gateReads(conn: Duplex, gate: PacketGate, onViolation: (why: string) => void): Duplex {
  const push = conn.push;
  let isRefused = false;
  conn.push = function gatedPush(this: Duplex, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (isRefused) return false;
    if (Buffer.isBuffer(chunk)) {
      const why = gate.feed(chunk);
      if (why !== undefined) {
        isRefused = true;
        onViolation(why);
        conn.destroy();
        return false;
      }
    }
    return push.call(this, chunk, encoding);
  };
  return conn;
}
