/** The MQTT packet-size gate (hub/broker/packet-gate.ts) on hand-encoded packets split at random points. */
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gateReads, PacketGate } from '../../hub/broker/packet-gate.ts';
import { MAX_BYTES } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

function packet(type: number, flags: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(type << 4) | flags]), varint(body.length), body]);
}

const CONNECT = packet(
  1,
  0,
  Buffer.from('\u0000\u0004MQTT\u0004\u00c2\u0000\u003c\u0000\u0001a\u0000\u0001u\u0000\u0001p', 'latin1'),
);

function publish(topic: string, payloadBytes: number, qos: 0 | 1): Buffer {
  const t = Buffer.from(topic);
  const head = Buffer.concat([
    Buffer.from([t.length >> 8, t.length & 255]),
    t,
    qos > 0 ? Buffer.from([0, 1]) : Buffer.alloc(0),
  ]);
  return packet(3, qos << 1, Buffer.concat([head, Buffer.alloc(payloadBytes, 0x7b)]));
}

function feedSplit(gate: PacketGate, data: Buffer, cuts: number[]): string | undefined {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const at of [...points, data.length]) {
    const why = gate.feed(data.subarray(from, at));
    if (why !== undefined) return why;
    from = at;
  }
  return undefined;
}

const KINDS = ['presence', 'heartbeat', 'health', 'event', 'reply', 'attachment'] as const;
const topicOf = (kind: (typeof KINDS)[number]) =>
  kind === 'health' || kind === 'event' ? topics[kind]('site-a', 'agent-1', 'SN-1') : topics[kind]('site-a', 'agent-1');

/** A connection stand-in: what the transport pushes is what a reader gets. */
function standInConnection(): Duplex {
  return new Duplex({
    read() {},
    write(_c, _e, cb) {
      cb();
    },
  });
}

describe('packet gate', () => {
  it('passes every packet within its kind`s limit, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom(...KINDS),
            fc.double({ min: 0, max: 1, noNaN: true }),
            fc.constantFrom(0 as const, 1 as const),
          ),
          { maxLength: 6 },
        ),
        fc.array(fc.nat(), { maxLength: 20 }),
        (specs, cuts) => {
          const stream = Buffer.concat([
            CONNECT,
            ...specs.map(([kind, f, qos]) => publish(topicOf(kind), Math.floor(f * MAX_BYTES[kind]), qos)),
            packet(12, 0, Buffer.alloc(0)), // PINGREQ
          ]);
          expect(feedSplit(new PacketGate({ maxConnectBytes: 16 * 1024 }), stream, cuts)).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses one byte over the kind`s limit as soon as the topic is read, before the payload', () => {
    for (const kind of KINDS) {
      const over = publish(topicOf(kind), MAX_BYTES[kind] + 1, 1);
      const gate = new PacketGate({ maxConnectBytes: 16 * 1024 });
      expect(gate.feed(CONNECT)).toBeUndefined();
      const headerAndTopic = over.length - MAX_BYTES[kind] - 1;
      expect(gate.feed(over.subarray(0, headerAndTopic)), kind).toMatch(new RegExp(`PUBLISH on ${kind}`));
    }
  });

  it('refuses a huge CONNECT at its header, a first packet that is not CONNECT, and a second CONNECT', () => {
    expect(
      new PacketGate({ maxConnectBytes: 1024 }).feed(Buffer.concat([Buffer.from([0x10]), varint(250 * 1024 * 1024)])),
    ).toMatch(/CONNECT of 262144000 bytes/);
    expect(new PacketGate({ maxConnectBytes: 1024 }).feed(publish('a', 1, 0))).toBe('first packet is not CONNECT');
    expect(new PacketGate({ maxConnectBytes: 1024 }).feed(Buffer.concat([CONNECT, CONNECT]))).toBe('second CONNECT');
    expect(new PacketGate({ maxConnectBytes: 1024 }).feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff]))).toBe(
      'malformed remaining length',
    );
  });

  it('passes every chunk the connection receives through the gate before it is buffered, and closes it at the first violation', async () => {
    const conn = standInConnection();
    const why: string[] = [];
    const gated = gateReads(conn, new PacketGate({ maxConnectBytes: 1024 }), (w) => why.push(w));
    expect(gated).toBe(conn);
    const connect = Buffer.from([0x10, 0x02, 0x00, 0x00]);
    conn.push(connect);
    expect(gated.read()).toEqual(connect);
    // a PUBLISH announcing 2 MB: refused at its header, never handed to the reader
    conn.push(Buffer.from([0x32, 0x80, 0x80, 0x80, 0x01]));
    expect(why).toEqual([expect.stringContaining('PUBLISH of 2097152 bytes')]);
    expect(conn.destroyed).toBe(true);
    expect(conn.readableLength).toBe(0);
    expect(gated.read()).toBeNull();
    // whatever arrives after the refusal is dropped too
    conn.push(Buffer.from([0x30, 0x00]));
    expect(conn.readableLength).toBe(0);
  });

  it('gates a flowing reader (data events) as well as read()', async () => {
    const conn = standInConnection();
    const why: string[] = [];
    gateReads(conn, new PacketGate({ maxConnectBytes: 8 }), (w) => why.push(w));
    const seen: Buffer[] = [];
    conn.on('data', (chunk: Buffer) => seen.push(chunk));
    conn.push(Buffer.from([0x10, 0x20]));
    await once(conn, 'close');
    expect(seen).toEqual([]);
    expect(why).toEqual(['CONNECT of 32 bytes (limit 8)']);
  });
});
