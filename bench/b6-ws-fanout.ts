/**
 * B6 websocket fan-out (benchmarks.md): `clients` websocket clients on the hub's `/ws` stream (ws module on a
 * bare fastify + HubBus), deltas coalesced, one client that stops reading; baseline in the same run: a bare `ws`
 * server broadcasting the same bytes with no hub logic.
 *
 * The clients live in a child process (this file, HEZO_B6_ROLE=clients) so that `process.cpuUsage()` here is the
 * hub's alone; with >= 2 cores the hub is pinned to core 0 and the clients to core 1 (taskset), and restored after.
 * Latency = client receive time - emit time (embedded in each delta), both `performance.timeOrigin + now()`.
 * Prints nothing; returns numbers.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import WebSocket, { WebSocketServer } from 'ws';
import { HubConfig } from '../hub/config.ts';
import type { HubContext } from '../hub/context.ts';
import type { Db } from '../hub/db.ts';
import { HubBus } from '../hub/events.ts';
import type { SqlStore } from '../hub/store/sql-store.ts';
import type { DeviceView } from '../hub/types.ts';
import { createWsModule } from '../hub/ws/module.ts';
import { systemClock } from '../protocols/clock.ts';
import { machine, round, summarise } from './harness.ts';

const TOKEN = 'b6-bench-token-0123456789';
const COALESCE_MS = 100;
const BURSTS = 20;
/** Slow-client phase: this many fast clients, frames padded so the paused socket's kernel buffers fill quickly. */
const SLOW_PHASE_CLIENTS = 50;
const SLOW_PHASE_PADDING = 32 * 1024;

type ToChild =
  | { cmd: 'connect'; url: string; count: number; slow: boolean }
  | { cmd: 'expect'; tag: string; perClient: number }
  | { cmd: 'close' };
type FromChild =
  | { ev: 'ready'; connected: number }
  | { ev: 'done'; tag: string; latenciesMs: number[]; complete: number; slowClosed: boolean; slowFrames: number }
  | { ev: 'closed' };

const hiresNow = () => performance.timeOrigin + performance.now();

function device(serial: string, tag: string, padding = ''): DeviceView {
  return {
    serial,
    model: 'StudioX50',
    site: `site-${serial.slice(-2)}`,
    customer: 'bench',
    state: 'down',
    since: new Date().toISOString(),
    lastSeen: new Date().toISOString(),
    agentId: 'agent-b6',
    firmware: '4.1.0',
    contract: 'C-B6',
    reason: `${tag}|t=${hiresNow()}|${padding}`,
  };
}

// ---------------------------------------------------------------- load generator (child process)

async function runClients(): Promise<void> {
  const clients: Array<{ ws: WebSocket; isSlow: boolean; frames: number; closed: boolean }> = [];
  let expectation: { tag: string; perClient: number; latencies: number[]; complete: number } | undefined;
  const send = (m: FromChild) => process.send?.(m);

  function onFrame(client: (typeof clients)[number], data: Buffer) {
    client.frames += 1;
    const exp = expectation;
    if (exp === undefined || client.isSlow) return;
    const text = data.toString();
    const at = text.indexOf(`"reason":"${exp.tag}|t=`);
    if (at < 0) return;
    const start = at + exp.tag.length + 13;
    const sentAt = Number(text.slice(start, text.indexOf('|', start)));
    exp.latencies.push(hiresNow() - sentAt);
    const seen = ((client as { seen?: number }).seen ?? 0) + 1;
    (client as { seen?: number }).seen = seen;
    if (seen === exp.perClient) {
      exp.complete += 1;
      checkDone();
    }
  }

  function checkDone() {
    const exp = expectation;
    if (exp === undefined) return;
    const fast = clients.filter((c) => !c.isSlow && !c.closed).length;
    if (exp.complete < fast) return;
    const slow = clients.find((c) => c.isSlow);
    expectation = undefined;
    send({
      ev: 'done',
      tag: exp.tag,
      latenciesMs: exp.latencies,
      complete: exp.complete,
      slowClosed: slow?.closed ?? false,
      slowFrames: slow?.frames ?? 0,
    });
  }

  async function connect(url: string, count: number, slow: boolean) {
    const open = async (isSlow: boolean) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const client = { ws, isSlow, frames: 0, closed: false };
      clients.push(client);
      ws.on('message', (data: Buffer) => onFrame(client, data));
      ws.on('close', () => {
        client.closed = true;
      });
      ws.on('error', () => {});
      await once(ws, 'message'); // snapshot (hub) or hello (baseline)
      if (isSlow) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    };
    for (let i = 0; i < count; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => open(false)));
    }
    if (slow) await open(true);
    send({ ev: 'ready', connected: clients.length });
  }

  process.on('message', (m: ToChild) => {
    if (m.cmd === 'connect') void connect(m.url, m.count, m.slow);
    else if (m.cmd === 'expect') {
      expectation = { tag: m.tag, perClient: m.perClient, latencies: [], complete: 0 };
      for (const c of clients) (c as { seen?: number }).seen = 0;
    } else if (m.cmd === 'close') {
      for (const c of clients.splice(0)) c.ws.terminate();
      send({ ev: 'closed' });
    }
  });
}

// ---------------------------------------------------------------- hub side (this process)

class Child {
  private readonly proc: ChildProcess;
  private constructor(proc: ChildProcess) {
    this.proc = proc;
  }
  static start(pinCore: number | undefined): Child {
    const file = fileURLToPath(import.meta.url);
    const node = [process.execPath, '--import', 'tsx', file];
    const [cmd, ...args] = pinCore === undefined ? node : ['taskset', '-c', String(pinCore), ...node];
    const proc = spawn(cmd!, args, {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, HEZO_B6_ROLE: 'clients' },
      serialization: 'advanced',
    });
    return new Child(proc);
  }
  async request<E extends FromChild['ev']>(msg: ToChild, ev: E, timeoutMs: number) {
    const reply = new Promise<Extract<FromChild, { ev: E }>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`b6: no '${ev}' from clients within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onMessage = (m: FromChild) => {
        if (m.ev !== ev) return;
        clearTimeout(timer);
        this.proc.off('message', onMessage);
        resolve(m as Extract<FromChild, { ev: E }>);
      };
      this.proc.on('message', onMessage);
    });
    this.proc.send(msg);
    return reply;
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = once(this.proc, 'exit');
    this.proc.kill();
    await exited;
  }
}

/** Runs `fn`, returning hub CPU (ms), wall (ms) and event-loop delay p99/max (ms). */
async function measured<T>(fn: () => Promise<T>) {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  return {
    result,
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: performance.now() - t0,
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
  };
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startHub(maxBufferedBytes: number, stuckClientTimeoutMs: number) {
  const http = Fastify({ logger: false });
  const bus = new HubBus();
  const config = HubConfig.parse({
    version: 1,
    api: { token: TOKEN },
    ws: { coalesceMs: COALESCE_MS, pingIntervalMs: 60_000, maxBufferedBytes, stuckClientTimeoutMs },
  });
  const ctx: HubContext = {
    config,
    db: undefined as unknown as Db,
    sql: undefined as unknown as SqlStore,
    bus,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
    services: {},
    http,
  };
  const module = createWsModule(ctx);
  await module.start?.();
  await http.listen({ port: 0, host: '127.0.0.1' });
  const { port } = http.server.address() as AddressInfo;
  return {
    bus,
    module,
    url: `ws://127.0.0.1:${port}/ws?token=${TOKEN}`,
    async close() {
      await module.stop?.();
      await http.close();
    },
  };
}

/** Emit `messages` distinct device deltas in BURSTS bursts, one per coalescing tick, each with a duplicate. */
async function emitBursts(bus: HubBus, tag: string, messages: number, padding = '') {
  const perBurst = Math.ceil(messages / BURSTS);
  let n = 0;
  while (n < messages) {
    const end = Math.min(messages, n + perBurst);
    for (let i = n; i < end; i += 1) {
      const serial = `B6-${String(i).padStart(6, '0')}`;
      bus.emit('device', device(serial, tag, padding)); // coalesced away by the next line
      bus.emit('device', device(serial, tag, padding));
    }
    n = end;
    await tick(COALESCE_MS);
  }
}

export async function run(opts: { clients: number; messages: number }): Promise<Record<string, unknown>> {
  const cores = availableParallelism();
  const originalAffinity = cores >= 2 ? execFileSync('taskset', ['-p', String(process.pid)]).toString() : '';
  const affinityMask = /:\s*([0-9a-f]+)\s*$/i.exec(originalAffinity)?.[1];
  if (cores >= 2) execFileSync('taskset', ['-cp', '0', String(process.pid)]);
  const child = Child.start(cores >= 2 ? 1 : undefined);
  const deadlineMs = 60_000 + opts.clients * opts.messages * 0.05;
  try {
    // 1. Hub stream: clients + 1 paused client, deltas coalesced.
    const hub = await startHub(256 * 1024, 2000);
    await child.request({ cmd: 'connect', url: hub.url, count: opts.clients, slow: true }, 'ready', deadlineMs);
    const framesBefore = hub.module.stream.stats().framesSent;
    const hubRun = await measured(async () => {
      const done = child.request({ cmd: 'expect', tag: 'hub', perClient: opts.messages }, 'done', deadlineMs);
      await emitBursts(hub.bus, 'hub', opts.messages);
      return done;
    });
    const hubFrames = hub.module.stream.stats().framesSent - framesBefore;
    const hubStats = hub.module.stream.stats();
    await child.request({ cmd: 'close' }, 'closed', 10_000);
    await hub.close();

    // 2. Baseline: bare ws broadcast of the same bytes (serialised once), no coalescing, no hub logic.
    const http = Fastify({ logger: false });
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    http.server.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => ws.send('{"type":"hello"}')),
    );
    await http.listen({ port: 0, host: '127.0.0.1' });
    const basePort = (http.server.address() as AddressInfo).port;
    await child.request(
      { cmd: 'connect', url: `ws://127.0.0.1:${basePort}/`, count: opts.clients, slow: false },
      'ready',
      deadlineMs,
    );
    let baseFrames = 0;
    let baseSeq = 0;
    const baseRun = await measured(async () => {
      const done = child.request({ cmd: 'expect', tag: 'base', perClient: opts.messages }, 'done', deadlineMs);
      const perBurst = Math.ceil(opts.messages / BURSTS);
      for (let n = 0; n < opts.messages; n += perBurst) {
        for (let i = n; i < Math.min(opts.messages, n + perBurst); i += 1) {
          baseSeq += 1;
          const data = device(`B6-${String(i).padStart(6, '0')}`, 'base');
          const frame = Buffer.from(
            JSON.stringify({ type: 'device', seq: baseSeq, at: new Date().toISOString(), data }),
          );
          for (const ws of wss.clients) {
            ws.send(frame, { binary: false });
            baseFrames += 1;
          }
        }
        await tick(COALESCE_MS);
      }
      return done;
    });
    await child.request({ cmd: 'close' }, 'closed', 10_000);
    for (const ws of wss.clients) ws.terminate();
    await http.close();

    // 3. Slow client: padded frames until the paused client is stalled, then cut off; the others keep flowing.
    const slowHub = await startHub(64 * 1024, 1000);
    const fastClients = Math.min(opts.clients, SLOW_PHASE_CLIENTS);
    await child.request({ cmd: 'connect', url: slowHub.url, count: fastClients, slow: true }, 'ready', deadlineMs);
    const slowMessages = 200;
    const slowRun = await measured(async () => {
      const done = child.request({ cmd: 'expect', tag: 'slow', perClient: slowMessages }, 'done', deadlineMs);
      await emitBursts(slowHub.bus, 'slow', slowMessages, 'x'.repeat(SLOW_PHASE_PADDING));
      const deadline = Date.now() + 10_000;
      while (slowHub.module.stream.stats().cutoffs === 0 && Date.now() < deadline) await tick(COALESCE_MS);
      return done;
    });
    const slowStats = slowHub.module.stream.stats();
    await child.request({ cmd: 'close' }, 'closed', 10_000);
    await slowHub.close();

    const hubLat = summarise(hubRun.result.latenciesMs);
    const baseLat = summarise(baseRun.result.latenciesMs);
    const slowLat = summarise(slowRun.result.latenciesMs);
    const perFrameUs = (cpuMs: number, frames: number) => round((cpuMs * 1000) / Math.max(1, frames), 2);
    return {
      machine: machine(),
      pinned: cores >= 2 ? 'hub on core 0, clients on core 1 (taskset)' : 'not pinned (1 core)',
      clients: opts.clients,
      messagesPerClient: opts.messages,
      coalesceMs: COALESCE_MS,
      hub: {
        framesSent: hubFrames,
        deltasProduced: opts.messages,
        duplicatesCoalesced: opts.messages,
        cpuMs: round(hubRun.cpuMs),
        cpuPct: round((hubRun.cpuMs / hubRun.wallMs) * 100),
        perFrameUs: perFrameUs(hubRun.cpuMs, hubFrames),
        latencyMs: { p50: round(hubLat.p50), p99: round(hubLat.p99), max: round(hubLat.max), n: hubLat.n },
        loopP99Ms: round(hubRun.loopP99Ms),
        loopMaxMs: round(hubRun.loopMaxMs),
        clientsComplete: hubRun.result.complete,
        slowClientStalled: hubStats.stalled + hubStats.cutoffs + hubStats.resyncs > 0,
      },
      baseline: {
        framesSent: baseFrames,
        cpuMs: round(baseRun.cpuMs),
        perFrameUs: perFrameUs(baseRun.cpuMs, baseFrames),
        latencyMs: { p50: round(baseLat.p50), p99: round(baseLat.p99), max: round(baseLat.max), n: baseLat.n },
        loopP99Ms: round(baseRun.loopP99Ms),
        loopMaxMs: round(baseRun.loopMaxMs),
      },
      perFrameRatio: round(perFrameUs(hubRun.cpuMs, hubFrames) / perFrameUs(baseRun.cpuMs, baseFrames), 2),
      slowClient: {
        fastClients,
        frameBytes: SLOW_PHASE_PADDING,
        cutOff: slowStats.cutoffs === 1,
        slowClientClosedSeenByClient: slowRun.result.slowClosed,
        othersComplete: slowRun.result.complete === fastClients,
        othersLatencyMs: { p50: round(slowLat.p50), p99: round(slowLat.p99), max: round(slowLat.max) },
      },
      targets: {
        perFrameUsMax: 10,
        deltaP99MsMax: 1000,
        met:
          perFrameUs(hubRun.cpuMs, hubFrames) <= 10 &&
          hubLat.p99 <= 1000 &&
          slowStats.cutoffs === 1 &&
          slowRun.result.complete === fastClients,
      },
    };
  } finally {
    await child.stop();
    if (affinityMask !== undefined) execFileSync('taskset', ['-p', affinityMask, String(process.pid)]);
  }
}

if (process.env.HEZO_B6_ROLE === 'clients') void runClients();
