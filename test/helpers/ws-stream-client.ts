/** A raw `ws` client for the hub's `/ws` stream that records every message, for tests and the B6 bench. */
import { once } from 'node:events';
import WebSocket from 'ws';
import { withDeadline } from './wait-for.ts';

/** Test messages are inspected loosely. */
export type AnyMessage = Record<string, any>;

export interface StreamTestClient {
  ws: WebSocket;
  messages: AnyMessage[];
  /** The next message (after the ones already taken) matching `pred`; waits up to `timeoutMs`. */
  next(pred?: (m: AnyMessage) => boolean, timeoutMs?: number): Promise<AnyMessage>;
  close(): Promise<void>;
}

export async function connectStream(
  url: string,
  options: { headers?: Record<string, string>; autoPong?: boolean; timeoutMs?: number } = {},
): Promise<StreamTestClient> {
  const ws = new WebSocket(url, { headers: options.headers ?? {}, autoPong: options.autoPong ?? true });
  const messages: AnyMessage[] = [];
  let cursor = 0;
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    for (const wake of waiters) wake();
  });
  ws.on('error', () => {});
  await withDeadline(once(ws, 'open'), options.timeoutMs ?? 5000, `ws open ${url}`);

  async function next(pred: (m: AnyMessage) => boolean = () => true, timeoutMs = 5000): Promise<AnyMessage> {
    const find = () => {
      for (let i = cursor; i < messages.length; i += 1) {
        const m = messages[i]!;
        if (pred(m)) {
          cursor = i + 1;
          return m;
        }
      }
      return undefined;
    };
    const found = find();
    if (found !== undefined) return found;
    let wake: () => void = () => {};
    const arrived = new Promise<AnyMessage>((resolve) => {
      wake = () => {
        const m = find();
        if (m === undefined) return;
        waiters.delete(wake);
        resolve(m);
      };
      waiters.add(wake);
    });
    try {
      return await withDeadline(arrived, timeoutMs, 'stream message');
    } finally {
      waiters.delete(wake);
    }
  }

  async function close(): Promise<void> {
    if (ws.readyState === WebSocket.CLOSED) return;
    const closed = once(ws, 'close');
    ws.terminate();
    await closed;
  }

  return { ws, messages, next, close };
}

/** The HTTP status a refused upgrade answered with. */
export async function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(url, { headers });
  ws.on('error', () => {});
  const status = await withDeadline(
    new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
    }),
    5000,
    'upgrade answer',
  );
  ws.terminate();
  return status;
}
