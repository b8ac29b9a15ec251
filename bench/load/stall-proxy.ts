/**
 * A TCP proxy in front of InfluxDB that can stall: while stalled it accepts connections and never answers
 * (data in both directions is swallowed), like an InfluxDB that hangs (GC pause, disk full, SIGSTOP).
 * `resume()` drops the stalled connections (the client sees a reset) and forwards new ones again.
 */
import { once } from 'node:events';
import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net';

export interface StallProxy {
  url: string;
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startStallProxy(target: { host: string; port: number }): Promise<StallProxy> {
  let isStalled = false;
  const pairs = new Set<{ client: Socket; upstream: Socket | undefined; isStalled: boolean }>();
  const server = createServer((client) => {
    const pair = { client, upstream: undefined as Socket | undefined, isStalled };
    pairs.add(pair);
    client.on('error', () => {});
    client.on('close', () => {
      pairs.delete(pair);
      pair.upstream?.destroy();
    });
    if (!pair.isStalled) {
      const upstream = createConnection(target);
      pair.upstream = upstream;
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => client.destroy());
      upstream.on('data', (d) => {
        if (!pair.isStalled) client.write(d);
      });
    }
    client.on('data', (d) => {
      if (!pair.isStalled) pair.upstream?.write(d);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stall() {
      isStalled = true;
      for (const p of pairs) p.isStalled = true;
    },
    resume() {
      isStalled = false;
      for (const p of [...pairs]) {
        if (!p.isStalled) continue;
        p.client.destroy();
        p.upstream?.destroy();
        pairs.delete(p);
      }
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream?.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
