/** Real Debian mosquitto on a free loopback port, plus helpers to run its command-line clients. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait-for.ts';

/** A port that was free a moment ago (for servers that cannot listen on port 0 and report it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Mosquitto {
  url: string;
  port: number;
  log(): string;
  close(): Promise<void>;
}

/** mosquitto 2 with `extraConfig` lines (default: anonymous allowed). */
export async function startMosquitto(extraConfig: string[] = ['allow_anonymous true']): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'hezo-mosq-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'persistence false', 'log_dest stderr', ...extraConfig, ''].join('\n'),
  );
  const child: ChildProcess = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitFor(() => output.includes('running') || child.exitCode !== null, { what: 'mosquitto to start' });
  if (child.exitCode !== null) throw new Error(`mosquitto exited: ${output}`);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    log: () => output,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion (with a deadline) and collect its output. */
export async function run(
  command: string,
  args: string[],
  timeoutMs = 15_000,
  env?: NodeJS.ProcessEnv,
): Promise<RunResult> {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(env !== undefined ? { env: { ...process.env, ...env } } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
