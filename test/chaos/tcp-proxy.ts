/**
 * A TCP proxy the chaos tests control, in front of the hub's MQTT port: `partition()` black-holes every byte
 * both ways (sockets stay open, as when a WAN link dies: no RST), `heal()` drops the black-holed connections and
 * forwards new ones again. Delay is added per chunk with `delayMs` (the kernel here has no netem).
 */
import { once } from 'node:events';
import net from 'node:net';

export interface TcpProxy {
  port: number;
  delayMs: number;
  partition(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let isPartitioned = false;
  const pairs = new Set<{ a: net.Socket; b: net.Socket }>();
  const state = { delayMs: 0 };
  const pipe = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (isPartitioned) return;
      if (state.delayMs <= 0) to.write(chunk);
      else setTimeout(() => !isPartitioned && !to.destroyed && to.write(chunk), state.delayMs);
    });
  };
  const server = net.createServer((a) => {
    const b = net.connect(targetPort, targetHost);
    const pair = { a, b };
    pairs.add(pair);
    const end = () => {
      a.destroy();
      b.destroy();
      pairs.delete(pair);
    };
    a.on('error', end).on('close', end);
    b.on('error', end).on('close', end);
    pipe(a, b);
    pipe(b, a);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    partition() {
      isPartitioned = true;
    },
    heal() {
      for (const { a, b } of [...pairs]) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      isPartitioned = false;
    },
    async close() {
      for (const { a, b } of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
