/**
 * Issue 17/18: the liveness check's one-datagram SNMP v2c GET (agent/snmp-ping.ts) against Debian's snmpd and a
 * simulated Poly device (net-snmp): an answer is "alive"; a wrong community, a closed port or a stranger's datagram
 * is not; garbage never throws.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pingTemplate, responseId, SnmpPinger } from '../../agent/snmp-ping.ts';
import { createFleet } from '../../simulator/fleet.ts';
import { freeUdpPort } from '../helpers/ports.ts';
import { startSnmpd } from '../helpers/real-servers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('SNMP ping (liveness check of v2c devices)', () => {
  it('snmpd answers the prepared GET: alive; a wrong community or a closed port: a timeout', async () => {
    const snmpd = await startSnmpd([]);
    cleanups.push(snmpd.close);
    const pinger = new SnmpPinger(400);
    cleanups.push(() => pinger.close());
    const probes = await Promise.all(
      Array.from({ length: 20 }, () => pinger.ping('127.0.0.1', snmpd.port, snmpd.community)),
    );
    expect(probes.every((p) => p.ok)).toBe(true);
    const wrong = await pinger.ping('127.0.0.1', snmpd.port, 'not-the-community');
    expect(wrong).toMatchObject({ ok: false, error: { kind: 'timeout' } });
    const closed = await pinger.ping('127.0.0.1', await freeUdpPort(), snmpd.community);
    expect(closed.ok).toBe(false);
    expect(pinger.ignored).toBe(0);
  });

  it('a simulated Poly device answers it; a powered-off one does not', async () => {
    const fleet = createFleet({ devices: 2, seed: 3, controlPort: 0, models: ['StudioX50'] });
    await fleet.start();
    cleanups.push(() => fleet.stop());
    const [a, b] = fleet.devices().filter((d) => d.usb === undefined);
    if (!a || !b || a.usb !== undefined || b.usb !== undefined) throw new Error('expected two networked devices');
    const pinger = new SnmpPinger(400);
    cleanups.push(() => pinger.close());
    expect((await pinger.ping('127.0.0.1', a.snmpPort, a.snmpCommunity)).ok).toBe(true);
    fleet.injectFault(b.serial, { kind: 'power-off' });
    expect((await pinger.ping('127.0.0.1', b.snmpPort, b.snmpCommunity)).ok).toBe(false);
    expect((await pinger.ping('127.0.0.1', a.snmpPort, a.snmpCommunity)).ok).toBe(true);
  });

  it('a stranger answering with the right request-id from another port is ignored and counted', async () => {
    const fake = dgram.createSocket('udp4');
    fake.bind(0, '127.0.0.1');
    await once(fake, 'listening');
    cleanups.push(() => {
      fake.close();
    });
    const stranger = dgram.createSocket('udp4');
    stranger.bind(0, '127.0.0.1');
    await once(stranger, 'listening');
    cleanups.push(() => {
      stranger.close();
    });
    // the "device" never answers; the stranger echoes every request back as a GetResponse
    fake.on('message', (msg, from) => {
      const reply = Buffer.from(msg);
      reply[reply.indexOf(0xa0, 2)] = 0xa2;
      stranger.send(reply, from.port, from.address);
    });
    const pinger = new SnmpPinger(300);
    cleanups.push(() => pinger.close());
    const probe = await pinger.ping('127.0.0.1', fake.address().port, 'public');
    expect(probe.ok).toBe(false);
    expect(pinger.ignored).toBe(1);
  });

  it('one timer serves every ping: each unanswered ping times out at its own deadline, in the order sent', async () => {
    const silent = dgram.createSocket('udp4'); // a device that never answers
    silent.bind(0, '127.0.0.1');
    await once(silent, 'listening');
    cleanups.push(() => {
      silent.close();
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    cleanups.push(() => {
      vi.useRealTimers();
    });
    const pinger = new SnmpPinger(300);
    cleanups.push(() => pinger.close());
    const done: string[] = [];
    const port = silent.address().port;
    void pinger.ping('127.0.0.1', port, 'public').then((p) => done.push(`a:${p.error?.kind}:${p.latencyMs}`));
    await vi.advanceTimersByTimeAsync(150);
    void pinger.ping('127.0.0.1', port, 'public').then((p) => done.push(`b:${p.error?.kind}:${p.latencyMs}`));
    await vi.advanceTimersByTimeAsync(149);
    expect(done).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toEqual(['a:timeout:300']);
    await vi.advanceTimersByTimeAsync(149);
    expect(done).toEqual(['a:timeout:300']);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toEqual(['a:timeout:300', 'b:timeout:300']);
  });

  it('the prepared request is a well-formed GET whatever the community length; any bytes parse without throwing', () => {
    for (const community of ['c', 'public', 'x'.repeat(127), 'y'.repeat(300)]) {
      const { packet, idOffset } = pingTemplate(community);
      packet.writeUInt32BE(0x12345678, idOffset);
      const reply = Buffer.from(packet);
      reply[idOffset - 4] = 0xa2; // the PDU's tag (then its one-byte length, then 02 04): GetRequest -> GetResponse
      expect(responseId(reply)).toBe(0x12345678);
      expect(responseId(packet)).toBeUndefined(); // a request is not an answer
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const id = responseId(Buffer.from(bytes));
        return id === undefined || (Number.isInteger(id) && id >= 0);
      }),
      { numRuns: 2000 },
    );
  });
});
