/**
 * A real Debian `influxd` (1.x) on free loopback ports with a scratch config (environment.md recipe).
 * `stop()` kills it, `start()` runs it again on the same ports and data (for outage tests), `close()` cleans up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait-for.ts';

export const INFLUXD_PATH = process.env.HEZO_INFLUXD ?? '/usr/bin/influxd';

/** A port free right now on 127.0.0.1 (bound then released). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface InfluxdHandle {
  url: string;
  httpPort: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
  /** Run an InfluxQL query (GET /query) and return the parsed JSON. */
  query(db: string, q: string): Promise<InfluxQueryResult>;
}

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}
export interface InfluxQueryResult {
  results: Array<{ statement_id: number; series?: InfluxSeries[]; error?: string }>;
  error?: string;
}

export async function startInfluxd(): Promise<InfluxdHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'hezo-influxd-'));
  const httpPort = await freePort();
  const rpcPort = await freePort();
  const conf = join(dir, 'influxdb.conf');
  writeFileSync(
    conf,
    `reporting-enabled = false
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${dir}/meta"
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = false
  log-enabled = false
[logging]
  level = "warn"
`,
  );
  const url = `http://127.0.0.1:${httpPort}`;
  let child: ChildProcess | undefined;
  let stderr = '';

  async function start(): Promise<void> {
    stderr = '';
    const proc = spawn(INFLUXD_PATH, ['run', '-config', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child = proc;
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`influxd exited ${proc.exitCode}: ${stderr}`);
        const res = await fetch(`${url}/ping`);
        return res.status === 204;
      },
      { timeoutMs: 15_000, intervalMs: 50, what: `influxd /ping on ${url}` },
    );
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    await exited;
  }

  async function query(db: string, q: string): Promise<InfluxQueryResult> {
    const params = new URLSearchParams({ db, q, epoch: 'ms' });
    const res = await fetch(`${url}/query?${params}`);
    return (await res.json()) as InfluxQueryResult;
  }

  await start();
  return {
    url,
    httpPort,
    start,
    stop,
    query,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
