/** Parent side of bench/load/mqtt-load.ts: start the generator pinned to a core, connect agents, run a rate. */
import { type BenchAgent, Child, LOAD_SCRIPT, sleep, watchSelf } from './common.ts';

export interface RunResult {
  sent: number;
  acked: number;
  errors: number;
  wallMs: number;
  publishMs: number;
}

export class LoadGenerator {
  readonly child: Child;
  private constructor(child: Child) {
    this.child = child;
  }

  static start(core = 1): LoadGenerator {
    return new LoadGenerator(Child.start(LOAD_SCRIPT, { core }));
  }

  async connect(options: {
    url: string;
    agents: readonly BenchAgent[];
    password?: string;
    devicesPerAgent: number;
    keepaliveS?: number;
    reconnectMs?: number;
    timeoutMs?: number;
  }): Promise<{ connected: number; ms: number }> {
    const { timeoutMs = 120_000, ...msg } = options;
    return this.child.request({ cmd: 'connect', ...msg }, 'connected', timeoutMs);
  }

  run(rate: number, durationMs: number, ackWaitMs = 5000): Promise<RunResult> {
    return this.child.request({ cmd: 'run', rate, durationMs, ackWaitMs }, 'done', durationMs + ackWaitMs + 30_000);
  }

  status(): Promise<{ connected: number; connects: number; acked: number; sent: number }> {
    return this.child.request({ cmd: 'status' }, 'status', 10_000);
  }

  async close(): Promise<void> {
    try {
      await this.child.request({ cmd: 'close' }, 'closed', 10_000);
    } catch {
      // already gone
    }
    await this.child.stop();
  }
}

/** One load step against a consumer in this process: offered rate, what arrived, CPU and event loop here. */
export async function measureStep(
  load: LoadGenerator,
  processed: () => number,
  rate: number,
  durationMs: number,
  drainMs = 2000,
) {
  const before = processed();
  const w = watchSelf();
  const run = await load.run(rate, durationMs);
  const t0 = performance.now();
  while (processed() - before < run.sent && performance.now() - t0 < drainMs) await sleep(10);
  const m = w.stop();
  const got = processed() - before;
  return {
    rate,
    ...run,
    processed: got,
    achievedPerS: (got / Math.max(1, m.wallMs)) * 1000,
    offeredPerS: (run.sent / Math.max(1, run.publishMs)) * 1000,
    lost: Math.max(0, run.sent - got),
    ...m,
  };
}
