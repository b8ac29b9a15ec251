/**
 * The live stream's fan-out engine: sequence numbers, coalescing, serialise-once broadcast, backpressure and
 * liveness. Knows nothing about HTTP or the bus: the module feeds it changes and hands it accepted sockets.
 *
 * - Changes are coalesced for `coalesceMs` (latest per device / ticket / site alert; SLA events are each kept),
 *   then each becomes one message with the next `seq`, serialised once into a Buffer sent to every live client.
 * - A client whose `bufferedAmount` exceeds `maxBufferedBytes` is marked stalled and skipped (it never slows the
 *   hub or other clients). When it drains below half of that it gets a fresh snapshot; when it stays stuck for
 *   `stuckClientTimeoutMs` it is terminated.
 * - Every `pingIntervalMs` each client is pinged; one that did not answer the previous ping is terminated.
 */

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { WebSocket } from 'ws';
import * as wsModule from 'ws';
import type { Clock } from '../../protocols/clock.ts';
import type { DeviceView, SiteAlert, SlaEvent, TicketView } from '../types.ts';
import { ClientMessage, type DeltaMessage, type ProgressItem, type SnapshotMessage } from './messages.ts';

export interface StreamOptions {
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  pingIntervalMs: number;
  maxBufferedBytes: number;
  coalesceMs: number;
  stuckClientTimeoutMs: number;
  /** This hub node's id, sent in every snapshot (several hubs: the NOC page shows which one it streams from). */
  node?: string;
  /** Current state for a snapshot (devices, open tickets, raised site alerts). */
  snapshot(): Pick<SnapshotMessage, 'devices' | 'tickets' | 'siteAlerts' | 'progress'>;
}

export interface StreamStats {
  clients: number;
  stalled: number;
  seq: number;
  framesSent: number;
  resyncs: number;
  cutoffs: number;
  deadDropped: number;
  ignoredMessages: number;
}

type Pending = Omit<DeltaMessage, 'seq' | 'at'>;

interface Client {
  readonly ws: WebSocket;
  readonly id: number;
  isAlive: boolean;
  /** Clock ms when the client went over `maxBufferedBytes`; undefined while it is live. */
  stalledAt: number | undefined;
}

const SEND_OPTIONS = { binary: false, compress: false, fin: true } as const;

/** ws's frame encoder (exported by ws's ESM wrapper, untyped in @types/ws). */
const { Sender } = wsModule as unknown as {
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean },
    ): Buffer[];
  };
};
const TEXT_FRAME = { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true } as const;

/**
 * One tick's messages as ready-to-write websocket text frames, concatenated: written to each client's socket
 * in ONE write (the server never masks, and permessage-deflate is off, so ws's Sender holds no queued state and a
 * raw write is what `ws.send` would do, minus a syscall per message).
 */
function frameBatch(payloads: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const payload of payloads) parts.push(...Sender.frame(payload, TEXT_FRAME));
  return Buffer.concat(parts);
}

function rawSocket(ws: WebSocket): Socket | undefined {
  const socket = (ws as unknown as { _socket?: Socket })._socket;
  return socket?.writable ? socket : undefined;
}

/** How often stalled clients are checked for drain / timeout. */
const STALL_CHECK_MS = 100;
/** A cached snapshot is reused for clients connecting within this long at the same seq. */
const SNAPSHOT_CACHE_MS = 1000;
/** Grace for clients to answer our close frame at stop before they are terminated. */
const CLOSE_GRACE_MS = 1000;

export class LiveStream {
  private readonly opts: StreamOptions;
  private readonly clients = new Set<Client>();
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private slaCounter = 0;
  private nextClientId = 1;
  private cancelFlush: (() => void) | undefined;
  private cancelPing: (() => void) | undefined;
  private cancelStallCheck: (() => void) | undefined;
  private snapshotCache: { seq: number; builtAt: number; frame: Buffer } | undefined;
  private isStopped = false;
  private readonly counts = { framesSent: 0, resyncs: 0, cutoffs: 0, deadDropped: 0, ignoredMessages: 0 };
  private readonly metrics: {
    framesSent: Counter;
    deltas: Counter<'type'>;
    resyncs: Counter;
    cutoffs: Counter;
    dead: Counter;
    ignored: Counter;
  };

  constructor(opts: StreamOptions) {
    this.opts = opts;
    const registers = [opts.metrics];
    const clients = this.clients;
    new Gauge({
      name: 'hezo_ws_clients',
      help: 'Websocket stream clients connected',
      registers,
      collect() {
        this.set(clients.size);
      },
    });
    this.metrics = {
      framesSent: new Counter({ name: 'hezo_ws_frames_sent_total', help: 'Websocket frames sent', registers }),
      deltas: new Counter({
        name: 'hezo_ws_deltas_total',
        help: 'Delta messages produced (after coalescing), by type',
        labelNames: ['type'],
        registers,
      }),
      resyncs: new Counter({
        name: 'hezo_ws_slow_client_resyncs_total',
        help: 'Slow clients that drained and got a fresh snapshot',
        registers,
      }),
      cutoffs: new Counter({
        name: 'hezo_ws_slow_client_cutoffs_total',
        help: 'Slow clients terminated after staying stuck',
        registers,
      }),
      dead: new Counter({
        name: 'hezo_ws_dead_clients_total',
        help: 'Clients terminated for not answering a ping',
        registers,
      }),
      ignored: new Counter({
        name: 'hezo_ws_client_messages_ignored_total',
        help: 'Client messages ignored (invalid or unknown)',
        registers,
      }),
    };
  }

  start(): void {
    this.schedulePing();
  }

  /** Queue a change; changes within `coalesceMs` are merged (latest wins per key). */
  publishDevice(device: DeviceView): void {
    this.enqueue(`d:${device.serial}`, { type: 'device', data: device });
  }

  publishTicket(ticket: TicketView): void {
    this.enqueue(`t:${ticket.id}`, { type: 'ticket', data: ticket });
  }

  publishSiteAlert(alert: SiteAlert): void {
    this.enqueue(`a:${alert.site}/${alert.agentId}`, { type: 'site-alert', data: alert });
  }

  publishProgress(item: ProgressItem): void {
    this.enqueue(`p:${item.key}`, { type: 'progress', data: item });
  }

  publishSla(event: SlaEvent): void {
    this.slaCounter += 1;
    this.enqueue(`s:${this.slaCounter}`, { type: 'sla', data: event });
  }

  /** Adopt an authenticated socket: send it a snapshot, then deltas. */
  addClient(ws: WebSocket): void {
    if (this.isStopped) {
      ws.close(1001, 'hub stopping');
      return;
    }
    const client: Client = { ws, id: this.nextClientId++, isAlive: true, stalledAt: undefined };
    this.clients.add(client);
    ws.on('pong', () => {
      client.isAlive = true;
    });
    ws.on('message', (data, isBinary) => this.onClientMessage(client, data, isBinary));
    ws.on('error', (err) => this.opts.logger.debug({ err, client: client.id }, 'ws client error'));
    ws.on('close', () => this.clients.delete(client));
    this.sendSnapshot(client);
  }

  stats(): StreamStats {
    let stalled = 0;
    for (const client of this.clients) if (client.stalledAt !== undefined) stalled += 1;
    return { clients: this.clients.size, stalled, seq: this.seq, ...this.counts };
  }

  /** Flush what is pending now (used at stop and by tests). */
  flush(): void {
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    if (this.pending.size === 0) return;
    const byType = new Map<string, number>();
    for (const item of this.pending.values()) byType.set(item.type, (byType.get(item.type) ?? 0) + 1);
    for (const [type, n] of byType) this.metrics.deltas.inc({ type }, n);
    if (this.clients.size === 0) {
      // Nobody listens: the deltas still take their seq numbers (a later snapshot carries the current seq), but
      // nothing is serialised (10k devices refreshing lastSeen would cost a JSON.stringify each, for no one).
      this.seq += this.pending.size;
      this.pending.clear();
      return;
    }
    const at = new Date(this.opts.clock.now()).toISOString();
    const frames: Buffer[] = [];
    for (const item of this.pending.values()) {
      this.seq += 1;
      frames.push(Buffer.from(JSON.stringify({ type: item.type, seq: this.seq, at, data: item.data })));
    }
    this.pending.clear();
    const batch = frameBatch(frames);
    let sent = 0;
    for (const client of this.clients) {
      if (client.stalledAt !== undefined || client.ws.readyState !== client.ws.OPEN) continue;
      if (client.ws.bufferedAmount > this.opts.maxBufferedBytes) {
        this.markStalled(client);
        continue;
      }
      const socket = rawSocket(client.ws);
      if (socket !== undefined) socket.write(batch);
      else for (const frame of frames) client.ws.send(frame, SEND_OPTIONS);
      sent += frames.length;
    }
    this.countFrames(sent);
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    this.flush();
    this.cancelPing?.();
    this.cancelStallCheck?.();
    const closed = [...this.clients].map(
      (client) =>
        new Promise<void>((resolve) => {
          if (client.ws.readyState === client.ws.CLOSED) return resolve();
          client.ws.once('close', () => resolve());
          client.ws.close(1001, 'hub stopping');
        }),
    );
    const grace = setTimeout(() => {
      for (const client of this.clients) client.ws.terminate();
    }, CLOSE_GRACE_MS);
    await Promise.all(closed);
    clearTimeout(grace);
    this.clients.clear();
  }

  private enqueue(key: string, item: Pending): void {
    if (this.isStopped) return;
    this.pending.set(key, item);
    if (this.cancelFlush === undefined) {
      this.cancelFlush = this.opts.clock.setTimer(this.opts.coalesceMs, () => {
        this.cancelFlush = undefined;
        this.flush();
      });
    }
  }

  private snapshotFrame(): Buffer {
    const now = this.opts.clock.now();
    const cached = this.snapshotCache;
    if (cached !== undefined && cached.seq === this.seq && now - cached.builtAt < SNAPSHOT_CACHE_MS)
      return cached.frame;
    const state = this.opts.snapshot();
    const message: SnapshotMessage = {
      type: 'snapshot',
      seq: this.seq,
      at: new Date(now).toISOString(),
      ...(this.opts.node === undefined ? {} : { node: this.opts.node }),
      ...state,
    };
    const frame = Buffer.from(JSON.stringify(message));
    this.snapshotCache = { seq: this.seq, builtAt: now, frame };
    return frame;
  }

  private sendSnapshot(client: Client): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    client.ws.send(this.snapshotFrame(), SEND_OPTIONS);
    this.countFrames(1);
  }

  private countFrames(n: number): void {
    if (n === 0) return;
    this.counts.framesSent += n;
    this.metrics.framesSent.inc(n);
  }

  private onClientMessage(client: Client, data: unknown, isBinary: boolean): void {
    client.isAlive = true;
    let parsed: ClientMessage | undefined;
    if (!isBinary) {
      try {
        const result = ClientMessage.safeParse(JSON.parse(String(data)));
        if (result.success) parsed = result.data;
      } catch {
        parsed = undefined;
      }
    }
    if (parsed === undefined) {
      this.counts.ignoredMessages += 1;
      this.metrics.ignored.inc();
      return;
    }
    switch (parsed.type) {
      case 'resync':
        // A stalled client gets its snapshot when it drains.
        if (client.stalledAt === undefined) this.sendSnapshot(client);
        return;
      case 'ping':
        client.ws.send(JSON.stringify({ type: 'pong', at: new Date(this.opts.clock.now()).toISOString() }));
        this.countFrames(1);
        return;
    }
  }

  private markStalled(client: Client): void {
    client.stalledAt = this.opts.clock.now();
    this.opts.logger.debug({ client: client.id, bufferedBytes: client.ws.bufferedAmount }, 'ws client stalled');
    this.scheduleStallCheck();
  }

  private scheduleStallCheck(): void {
    if (this.cancelStallCheck !== undefined || this.isStopped) return;
    this.cancelStallCheck = this.opts.clock.setTimer(STALL_CHECK_MS, () => {
      this.cancelStallCheck = undefined;
      this.checkStalled();
    });
  }

  private checkStalled(): void {
    const now = this.opts.clock.now();
    let stillStalled = false;
    for (const client of this.clients) {
      if (client.stalledAt === undefined) continue;
      if (client.ws.bufferedAmount <= this.opts.maxBufferedBytes / 2) {
        client.stalledAt = undefined;
        this.counts.resyncs += 1;
        this.metrics.resyncs.inc();
        this.sendSnapshot(client);
      } else if (now - client.stalledAt >= this.opts.stuckClientTimeoutMs) {
        this.counts.cutoffs += 1;
        this.metrics.cutoffs.inc();
        this.opts.logger.warn({ client: client.id, bufferedBytes: client.ws.bufferedAmount }, 'ws slow client cut off');
        this.clients.delete(client);
        client.ws.terminate();
      } else {
        stillStalled = true;
      }
    }
    if (stillStalled) this.scheduleStallCheck();
  }

  private schedulePing(): void {
    if (this.isStopped) return;
    this.cancelPing = this.opts.clock.setTimer(this.opts.pingIntervalMs, () => {
      this.pingAll();
      this.schedulePing();
    });
  }

  private pingAll(): void {
    for (const client of this.clients) {
      if (!client.isAlive) {
        this.counts.deadDropped += 1;
        this.metrics.dead.inc();
        this.clients.delete(client);
        client.ws.terminate();
        continue;
      }
      client.isAlive = false;
      if (client.ws.readyState === client.ws.OPEN) client.ws.ping();
    }
  }
}
