/**
 * Issue 13: the agent decompresses device logs with a limit (`logCache.maxUnpackedBytes`). A device (or an
 * impostor it trusted) serving a gzip bomb as its log archive gets a clear refusal in the command reply, nothing
 * is kept or sent, and the agent's memory stays bounded. Real parts: an HTTPS device speaking Poly's REST login,
 * the agent over MQTT (aedes), the `collect-logs` command as the hub sends it.
 */
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../agent/agent.ts';
import { buildAgentConfig } from '../../agent/config.ts';
import { decodeMessage, encodeMessage } from '../../protocols/messages.ts';
import { packTar } from '../../protocols/tar-archive.ts';
import { topics } from '../../protocols/topics.ts';
import { generateTls } from '../../simulator/certs.ts';
import { recordTopics, silentLogger, startBroker, tempDir, waitFor } from '../helpers/agent-harness.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const MiB = 1024 * 1024;
const LIMIT = 32 * MiB;
const PASSWORD = 'dev1ce-pass';

/** 1 GiB of zeros as 64 concatenated gzip members of 16 MiB each (~1 MB on the wire). */
function gzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(16 * MiB), { level: 9 });
  return Buffer.concat(Array.from({ length: 64 }, () => member));
}

async function startLogDevice(archive: { body: Buffer }) {
  const tls = await generateTls('log-device');
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/rest/current/session') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: true, session: { sessionId: 'PSlogdevicelogdevicelogdevicelogdevice12' } }));
      } else if (req.method === 'GET' && req.url === '/rest/system/logs') {
        res.writeHead(200, { 'content-type': 'application/gzip' });
        res.end(archive.body);
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{}');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('agent log decompression is bounded', () => {
  it('a gzip bomb as the device log archive is refused with a clear error; memory stays bounded', async () => {
    const served = { body: gzipBomb() };
    expect(served.body.length).toBeLessThan(2 * MiB);
    const device = await startLogDevice(served);
    cleanups.push(device.close);
    const broker = await startBroker();
    cleanups.push(() => broker.close());
    const hub = await recordTopics(broker.url, 'hezo/v1/#');
    cleanups.push(() => hub.close());
    const tmp = tempDir();
    cleanups.push(tmp.close);
    const config = buildAgentConfig({
      version: 1,
      agentId: 'agent-bomb',
      site: 'site-bomb',
      customer: 'cust',
      mqtt: { url: broker.url, keepaliveS: 5 },
      pollIntervalMs: 3_600_000,
      requestTimeoutMs: 5000,
      dataDir: tmp.dir,
      logCache: { refreshMs: 3_600_000, maxArchiveBytes: 8 * MiB, maxUnpackedBytes: LIMIT },
      devices: [
        {
          serial: 'BOMB0001',
          address: '127.0.0.1',
          model: 'StudioX50',
          channels: ['rest'],
          rest: { port: device.port, username: 'admin', password: PASSWORD },
        },
      ],
    });
    const agent = createAgent(config, { logger: silentLogger });
    cleanups.push(() => agent.stop());
    await agent.start();
    await waitFor(() => hub.on('/health/').length > 0, 10_000, 'first health record');

    let n = 0;
    const collect = async () => {
      const id = `cmd-bomb-${++n}`;
      await hub.client.publishAsync(
        topics.command(config.site, config.agentId),
        encodeMessage('cmd', {
          v: 1,
          id,
          kind: 'collect-logs',
          serial: 'BOMB0001',
          issuedAt: new Date().toISOString(),
          timeoutMs: 60_000,
        }),
        { qos: 1 },
      );
      return waitFor(
        () =>
          hub
            .on('/reply')
            .map((m) => decodeMessage('reply', m.payload))
            .find((r) => r.id === id),
        60_000,
        'collect-logs reply',
      );
    };

    const baseRss = process.memoryUsage().rss;
    let peakRss = baseRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 5);
    cleanups.push(() => clearInterval(sampler));
    const refused = await collect();
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    expect(refused.ok).toBe(true);
    const note = (refused.ok ? refused.data.logs : {}) as { source: unknown; freshError?: string };
    expect(note.source).toBeNull();
    expect(note.freshError).toMatch(
      new RegExp(`unpacks to more than ${LIMIT} bytes \\(logCache\\.maxUnpackedBytes\\); refused, nothing kept`),
    );
    const names = (refused.ok ? (refused.data.attachments as { name: string }[]) : []).map((a) => a.name);
    expect(names).toEqual(['agent-trace.json']);
    const growthMiB = (peakRss - baseRss) / MiB;
    process.stdout.write(
      `[agent-log-bomb] 1 GiB bomb refused at ${LIMIT / MiB} MiB; peak RSS growth ${growthMiB.toFixed(0)} MiB\n`,
    );
    // unpacking it would have taken 1 GiB; the limit is 32 MiB (allow the zlib and GC slack around it)
    expect(growthMiB).toBeLessThan(400);

    // control: a real archive under the limit is accepted, redacted and sent
    served.body = packTar(
      [
        {
          path: 'system.log',
          type: 'File',
          mode: 0o644,
          mtime: new Date(0),
          data: Buffer.from(`login pw=${PASSWORD}\n`),
        },
      ],
      true,
    );
    const ok = await collect();
    const okNote = (ok.ok ? ok.data.logs : {}) as { source: unknown };
    expect(okNote.source).toBe('rest');
    const okNames = (ok.ok ? (ok.data.attachments as { name: string }[]) : []).map((a) => a.name);
    expect(okNames).toContain('device-logs.tar.gz');
  });
});
