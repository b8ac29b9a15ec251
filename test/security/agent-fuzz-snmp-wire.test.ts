/**
 * Fuzz door: SNMP answers on the wire, parsed by the agent's real v2c client (snmp-native on the agent's shared
 * UDP socket) and then by its poll (types, uptime, normalisation, record encoding). A UDP "device" answers each
 * request with a GetResponse for the request's id whose varbinds have fuzzed types and values, an error status,
 * or the encoded bytes mutated (truncated, bit-flipped, garbage): such a datagram is dropped and counted by the
 * socket, the request times out, the poll reports it. The record is valid every time and the agent never crashes.
 */

import dgram from 'node:dgram';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
// @ts-expect-error snmp-native ships no types (the parts used here: parse, encode, Packet)
import snmpNative from 'snmp-native';
import { afterEach, describe, expect, it } from 'vitest';
import { SnmpType } from '../../protocols/clients/snmp.ts';
import { ProbeErrorKind } from '../../protocols/health.ts';
import { assertClearError, fuzzDoor } from '../helpers/agent-fuzz-door.ts';
import { tempDir } from '../helpers/agent-harness.ts';
import { pollerFixture } from '../helpers/agent-poller-fixture.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface WireVarbind {
  type: number;
  value: unknown;
}
interface WireCase {
  varbinds: WireVarbind[];
  error: number;
  mutation: 'none' | 'truncate' | 'flip' | 'garbage';
  cut: number;
  flips: number[];
  garbage: Uint8Array;
}

const varbindArb: fc.Arbitrary<WireVarbind> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant(SnmpType.TimeTicks), value: fc.nat(2 ** 31 - 1) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant(SnmpType.Integer),
      value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constantFrom(SnmpType.Gauge, SnmpType.Counter), value: fc.nat(2 ** 31 - 1) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ type: fc.constant(SnmpType.OctetString), value: fc.string({ maxLength: 300 }) }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant(SnmpType.IpAddress), value: fc.ipV4() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant(SnmpType.ObjectIdentifier),
      value: fc.array(fc.nat(100_000), { minLength: 2, maxLength: 12 }).map((a) => [1, 3, ...a]),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constantFrom(SnmpType.NoSuchObject, SnmpType.NoSuchInstance, SnmpType.EndOfMibView, SnmpType.Null),
      value: fc.constant(null),
    }),
  },
);

const caseArb: fc.Arbitrary<WireCase> = fc.record({
  varbinds: fc.array(varbindArb, { minLength: 0, maxLength: 20 }),
  error: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 18 }) }),
  mutation: fc.oneof(
    { weight: 24, arbitrary: fc.constant('none' as const) },
    { weight: 1, arbitrary: fc.constantFrom('truncate' as const, 'flip' as const, 'garbage' as const) },
  ),
  cut: fc.nat(400),
  flips: fc.array(fc.nat(400), { minLength: 1, maxLength: 4 }),
  garbage: fc.uint8Array({ maxLength: 200 }),
});

/** The device side: answer each request with the current case's GetResponse (or its mutated bytes). */
async function startSnmpDevice(current: () => WireCase) {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    let request: { pdu: { reqid: number; varbinds: { oid: number[] }[] }; community: string };
    try {
      request = snmpNative.parse(msg);
    } catch {
      return;
    }
    const c = current();
    const packet = new snmpNative.Packet();
    packet.community = request.community;
    packet.pdu.type = snmpNative.PduTypes.GetResponsePDU;
    packet.pdu.reqid = request.pdu.reqid;
    packet.pdu.error = c.error;
    // the requested OIDs in order, each with a fuzzed value (more or fewer varbinds than asked: both happen)
    packet.pdu.varbinds = c.varbinds.map((vb, i) => ({
      oid: request.pdu.varbinds[i % Math.max(1, request.pdu.varbinds.length)]?.oid ?? [1, 3, 6, 1],
      type: vb.type,
      value: vb.value,
    }));
    let out: Buffer;
    try {
      out = snmpNative.encode(packet);
    } catch {
      out = Buffer.from(c.garbage);
    }
    if (c.mutation === 'truncate') out = out.subarray(0, c.cut % Math.max(1, out.length));
    else if (c.mutation === 'flip') {
      out = Buffer.from(out);
      for (const at of c.flips) if (out.length > 0) out[at % out.length] = (out[at % out.length] as number) ^ 0xff;
    } else if (c.mutation === 'garbage') out = Buffer.from(c.garbage);
    socket.send(out, rinfo.port, rinfo.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    port: (socket.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

describe('fuzz: SNMP answers on the wire', () => {
  it('every datagram gives a valid health record; nothing crashes the shared socket', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.close);
    let current: WireCase | undefined;
    const device = await startSnmpDevice(() => current as WireCase);
    cleanups.push(device.close);
    const fixture = await pollerFixture(
      tmp.dir,
      { channels: ['snmp'], snmp: { port: device.port, version: '2c', community: 'public' } },
      {},
      { requestTimeoutMs: 150 },
    );
    cleanups.push(fixture.close);
    const summary = await fuzzDoor('agent-snmp-wire', caseArb, async (c, i) => {
      current = c;
      const record = await fixture.pollAndEncode(i);
      const snmp = record.reachability.snmp;
      if (snmp?.ok) return 'accepted';
      if (!snmp?.error) throw new Error('SNMP failed without an error');
      ProbeErrorKind.parse(snmp.error.kind);
      assertClearError(new Error(snmp.error.message), 'snmp error');
      return 'rejected';
    });
    expect(summary.crashes).toBe(0);
    expect(summary.unhandled).toBe(0);
    expect(summary.accepted).toBeGreaterThan(0);
    expect(summary.rejected).toBeGreaterThan(0);
    expect(summary.growthMiB).toBeLessThan(512);
  }, 1_800_000);
});
