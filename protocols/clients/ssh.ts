/**
 * SSH access to a device's command-line API (poly-devices.md §3) with node-ssh: connect, run a few
 * commands one at a time (the CLI has no flow control), disconnect. Every step has a deadline.
 * The exec channel is tried first; a CLI that refuses exec is driven through an interactive shell.
 */
import { readFile } from 'node:fs/promises';
import { NodeSSH } from 'node-ssh';
import { DeviceError, toDeviceError } from './device-error.ts';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  password?: string | undefined;
  privateKeyPath?: string | undefined;
  timeoutMs: number;
}

export interface SshCommandResult {
  command: string;
  output: string;
  exitCode: number | null;
  latencyMs: number;
}

export interface SshSessionResult {
  hostKeySha256: string | undefined;
  connectMs: number;
  results: SshCommandResult[];
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeviceError('timeout', `${what}: none within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function sshError(err: unknown, where: string): DeviceError {
  if (err instanceof DeviceError) return err;
  const e = err as { level?: string; message?: string; code?: string };
  if (e?.level === 'client-authentication' || /authentication methods failed/i.test(e?.message ?? '')) {
    return new DeviceError('auth', `${where}: SSH authentication failed`);
  }
  if (e?.level === 'client-timeout') return new DeviceError('timeout', `${where}: SSH handshake timed out`);
  const mapped = toDeviceError(err, where);
  return mapped.kind === 'other' ? new DeviceError('ssh', mapped.message, { cause: err }) : mapped;
}

async function runInShell(ssh: NodeSSH, commands: readonly string[], timeoutMs: number): Promise<SshCommandResult[]> {
  const channel = await ssh.requestShell(false);
  let buffer = '';
  channel.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
  });
  const results: SshCommandResult[] = [];
  try {
    for (const command of commands) {
      const started = performance.now();
      const mark = buffer.length;
      channel.write(`${command}\n`);
      // No flow control on the CLI: wait for output to settle (poly-devices.md §3 pacing: >= 200 ms).
      await new Promise<void>((resolve) => {
        let last = buffer.length;
        const deadline = Date.now() + timeoutMs;
        const tick = setInterval(() => {
          const ended = /status end|callinfo end|system is not in a call|\n[^\n]*[>#$] ?$/.test(buffer.slice(mark));
          if ((buffer.length > mark && buffer.length === last && ended) || Date.now() > deadline) {
            clearInterval(tick);
            resolve();
          }
          last = buffer.length;
        }, 200);
      });
      results.push({ command, output: buffer.slice(mark), exitCode: null, latencyMs: performance.now() - started });
    }
  } finally {
    channel.end();
  }
  return results;
}

/** Connect, run `commands` in order, disconnect. Rejects only when the connection itself fails. */
export async function runSshCommands(target: SshTarget, commands: readonly string[]): Promise<SshSessionResult> {
  const ssh = new NodeSSH();
  let hostKeySha256: string | undefined;
  const started = performance.now();
  try {
    const privateKey = target.privateKeyPath ? await readFile(target.privateKeyPath, 'utf8') : undefined;
    await withDeadline(
      ssh.connect({
        host: target.host,
        port: target.port,
        username: target.username,
        ...(target.password ? { password: target.password } : {}),
        ...(privateKey ? { privateKey } : {}),
        readyTimeout: target.timeoutMs,
        tryKeyboard: false,
        hostHash: 'sha256',
        hostVerifier: (hash: string) => {
          hostKeySha256 = hash;
          return true;
        },
      }),
      target.timeoutMs + 500,
      'ssh connect',
    );
  } catch (err) {
    ssh.dispose();
    throw sshError(err, `ssh ${target.host}:${target.port}`);
  }
  const connectMs = performance.now() - started;
  // a device that closes the connection itself (`reboot now`) can make a later write fail (EPIPE) after the
  // command's own handler is gone: never an unhandled 'error' event (it would end the agent process)
  ssh.connection?.on('error', () => {});
  const results: SshCommandResult[] = [];
  try {
    for (const command of commands) {
      const t0 = performance.now();
      try {
        const res = await withDeadline(ssh.execCommand(command), target.timeoutMs, `ssh ${command}`);
        const output = res.stdout + (res.stderr ? `\n${res.stderr}` : '');
        results.push({ command, output, exitCode: res.code, latencyMs: performance.now() - t0 });
      } catch (err) {
        if (results.length === 0 && !(err instanceof DeviceError)) {
          // the CLI refused an exec channel: drive it through a shell instead
          return { hostKeySha256, connectMs, results: await runInShell(ssh, commands, target.timeoutMs) };
        }
        results.push({
          command,
          output: `error: ${(err as Error).message}`,
          exitCode: null,
          latencyMs: performance.now() - t0,
        });
      }
    }
    return { hostKeySha256, connectMs, results };
  } finally {
    ssh.dispose();
  }
}
