/**
 * A TCP proxy on a free loopback port that the test controls, to cut a client off from a server (PostgreSQL, a
 * broker) the way a network does:
 * - `cut()`: a black hole. Open connections stay open but no byte passes in either direction (held, as by a dead
 *   link); new connections are accepted but never reach the server. The client only notices through its timeouts.
 * - `heal()`: bytes flow again (what was held is delivered), waiting new connections reach the server.
 * - `drop()`: reset every open connection now (a crashed middlebox); new ones still work unless cut.
 */
import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** `127.0.0.1:<port>` to connect to instead of the target. */
  host: string;
  port: number;
  isCut(): boolean;
  cut(): void;
  heal(): void;
  drop(): void;
  /** Connections opened through the proxy so far. */
  connections(): number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  server: Socket | undefined;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let isCut = false;
  let opened = 0;
  const pairs = new Set<Pair>();
  const waiting: Pair[] = [];
  const closing = new Set<Socket>();
  const closeLater = (socket: Socket | undefined): void => {
    if (socket === undefined) return;
    if (isCut) closing.add(socket);
    else socket.destroy();
  };

  const connectUpstream = (pair: Pair): void => {
    const server = createConnection({ host: target.host, port: target.port });
    pair.server = server;
    pair.client.pipe(server);
    server.pipe(pair.client);
    // while cut, a close does not reach the other side either (it would not through a dead link)
    server.on('error', () => closeLater(pair.client));
    server.on('close', () => closeLater(pair.client));
    pair.client.resume();
  };

  const proxy = createServer((client) => {
    opened++;
    const pair: Pair = { client, server: undefined };
    pairs.add(pair);
    client.on('error', () => closeLater(pair.server));
    client.on('close', () => {
      closeLater(pair.server);
      pairs.delete(pair);
    });
    client.pause();
    if (isCut) waiting.push(pair);
    else connectUpstream(pair);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const { port } = proxy.address() as { port: number };

  const setFlow = (isFlowing: boolean): void => {
    for (const { client, server } of pairs) {
      if (server === undefined) continue;
      if (isFlowing) {
        client.pipe(server);
        server.pipe(client);
        client.resume();
        server.resume();
      } else {
        // unpipe + pause: incoming bytes stay in the kernel buffers, nothing is forwarded or acknowledged upward
        client.unpipe(server);
        server.unpipe(client);
        client.pause();
        server.pause();
      }
    }
  };

  return {
    host: '127.0.0.1',
    port,
    isCut: () => isCut,
    cut() {
      isCut = true;
      setFlow(false);
    },
    heal() {
      isCut = false;
      setFlow(true);
      for (const pair of waiting.splice(0)) if (!pair.client.destroyed) connectUpstream(pair);
      for (const socket of closing) socket.destroy();
      closing.clear();
    },
    drop() {
      for (const { client, server } of pairs) {
        client.resetAndDestroy();
        server?.destroy();
      }
    },
    connections: () => opened,
    async close() {
      for (const { client, server } of pairs) {
        client.destroy();
        server?.destroy();
      }
      for (const socket of closing) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
