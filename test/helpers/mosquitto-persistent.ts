/**
 * A real Debian mosquitto with persistence on, in a temp dir, that a test can stop (SIGTERM: it saves its
 * database), kill (SIGKILL: it does not) and start again on the same port with the same store.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './mosquitto.ts';
import { waitFor } from './wait-for.ts';

export interface PersistentMosquitto {
  url: string;
  port: number;
  isRunning(): boolean;
  /** SIGTERM (mosquitto writes its persistence file) or SIGKILL; resolves when the process is gone. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Start again on the same port and store. */
  start(): Promise<void>;
  log(): string;
  close(): Promise<void>;
}

export async function startPersistentMosquitto(extraConfig: string[] = []): Promise<PersistentMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'hezo-mosq-p-'));
  chmodSync(dir, 0o755);
  const store = join(dir, 'store');
  mkdirSync(store);
  // mosquitto started as root drops to user `mosquitto`: it must be able to write its store
  chmodSync(store, 0o777);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${store}/`,
      // what a persistent session may hold while its client is away (default 1000, then silently dropped)
      'max_queued_messages 0',
      'log_dest stderr',
      ...extraConfig,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let output = '';
  const start = async (): Promise<void> => {
    const started = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    const mark = output.length;
    started.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await waitFor(() => output.slice(mark).includes('running') || started.exitCode !== null, {
      what: 'mosquitto to start',
    });
    if (started.exitCode !== null) throw new Error(`mosquitto exited: ${output.slice(mark)}`);
  };
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill(signal);
    await exited;
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    isRunning: () => child !== undefined && child.exitCode === null,
    stop,
    start,
    log: () => output,
    async close() {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
