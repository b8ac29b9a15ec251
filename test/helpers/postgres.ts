/**
 * A real PostgreSQL 15 (Debian, /usr/lib/postgresql/15/bin) in a temp dir on a free loopback port. The server
 * refuses to run as root: when the tests run as root, initdb and postgres run as the `postgres` user (runuser) in a
 * data dir it owns. Returns a connection URL for database `hezo`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freeTcpPort } from './ports.ts';
import { waitFor } from './wait-for.ts';

const BIN = '/usr/lib/postgresql/15/bin';

export interface Postgres {
  url: string;
  close(): Promise<void>;
}

export async function startPostgres(): Promise<Postgres> {
  const dir = mkdtempSync(join(tmpdir(), 'hezo-pg-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const sockets = join(dir, 'sock');
  mkdirSync(data);
  mkdirSync(sockets);
  const isRoot = process.getuid?.() === 0;
  const asOwner = (cmd: string, args: string[]): [string, string[]] =>
    isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(data, uid, gid);
    chownSync(sockets, uid, gid);
  }
  const [initCmd, initArgs] = asOwner(`${BIN}/initdb`, ['-D', data, '--auth=trust', '-U', 'postgres', '-E', 'UTF8']);
  execFileSync(initCmd, initArgs, { stdio: 'ignore' });
  const port = await freeTcpPort();
  const [cmd, args] = asOwner(`${BIN}/postgres`, [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    sockets,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
  ]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      // fast shutdown, sent to the postmaster itself (runuser does not pass SIGINT on)
      const pid = postmasterPid(data) ?? child.pid;
      if (pid !== undefined) process.kill(pid, 'SIGINT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`postgres exited: ${output}`);
        const client = new pg.Client({ connectionString: admin });
        await client.connect();
        await client.query('CREATE DATABASE hezo');
        await client.end();
        return true;
      },
      { what: 'postgres to accept connections', timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/hezo`, close: stop };
}

function postmasterPid(data: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
