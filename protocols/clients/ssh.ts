/**
 * SSH access to a device's command-line API (poly-devices.md §3) with node-ssh: connect, run a few
 * commands one at a time (the CLI has no flow control), disconnect. Every step has a deadline.
 * The exec channel is tried first; a CLI that refuses exec is driven through an interactive shell.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { NodeSSH } from 'node-ssh';
import { DeviceError, toDeviceError } from './device-error.ts';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  password?: string | undefined;
  privateKeyPath?: string | undefined;
  timeoutMs: number;
  /**
   * Decide on the server's host key (`SHA256:<base64>`, as `ssh-keygen -lf` prints it) during the key
   * exchange, before any credential is sent: undefined = go ahead, a DeviceError = disconnect with it.
   * Without it every host key is accepted (only for tools and tests).
   */
  verifyHostKey?: ((fingerprint: string) => Promise<DeviceError | undefined>) | undefined;
  /** Most output kept per command (stdout + stderr); beyond it the channel is closed and the output cut. */
  maxOutputBytes?: number;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

/** The OpenSSH form of a host key fingerprint: `SHA256:` + unpadded base64 of the key blob's sha256. */
export function sshFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
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

function cutNote(maxBytes: number): string {
  return `\n[output cut at ${maxBytes} bytes]`;
}

async function runInShell(
  ssh: NodeSSH,
  commands: readonly string[],
  timeoutMs: number,
  maxBytes: number,
): Promise<SshCommandResult[]> {
  const channel = await ssh.requestShell(false);
  let buffer = '';
  let isCut = false;
  channel.on('data', (chunk: Buffer) => {
    if (isCut) return;
    buffer += chunk.toString('utf8');
    if (buffer.length > maxBytes * commands.length) {
      isCut = true;
      buffer = buffer.slice(0, maxBytes * commands.length) + cutNote(maxBytes);
    }
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
          if ((buffer.length > mark && buffer.length === last && ended) || isCut || Date.now() > deadline) {
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
  // loaded on first use: ssh2 holds ~17 MB (a WebAssembly memory) that an agent polling over REST/SNMP never needs
  const { NodeSSH } = await import('node-ssh');
  const ssh = new NodeSSH();
  let hostKeySha256: string | undefined;
  let hostKeyRefusal: DeviceError | undefined;
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
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          hostKeySha256 = sshFingerprint(key);
          if (!target.verifyHostKey) return verify(true);
          target.verifyHostKey(hostKeySha256).then(
            (refusal) => {
              hostKeyRefusal = refusal;
              verify(refusal === undefined);
            },
            (err: unknown) => {
              hostKeyRefusal = toDeviceError(err, 'ssh host key check');
              verify(false);
            },
          );
        },
      }),
      target.timeoutMs + 500,
      'ssh connect',
    );
  } catch (err) {
    ssh.dispose();
    throw hostKeyRefusal ?? sshError(err, `ssh ${target.host}:${target.port}`);
  }
  const connectMs = performance.now() - started;
  // a device that closes the connection itself (`reboot now`) can make a later write fail (EPIPE) after the
  // command's own handler is gone: never an unhandled 'error' event (it would end the agent process)
  ssh.connection?.on('error', () => {});
  const maxBytes = target.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const results: SshCommandResult[] = [];
  try {
    for (const command of commands) {
      const t0 = performance.now();
      try {
        // a device that never stops talking is cut off: memory stays bounded
        let bytes = 0;
        let isCut = false;
        let channel: { close(): void } | undefined;
        const count = (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > maxBytes && !isCut) {
            isCut = true;
            channel?.close();
          }
        };
        const res = await withDeadline(
          ssh.execCommand(command, {
            onChannel: (c) => {
              channel = c;
            },
            onStdout: count,
            onStderr: count,
          }),
          target.timeoutMs,
          `ssh ${command}`,
        );
        let output = res.stdout + (res.stderr ? `\n${res.stderr}` : '');
        if (isCut) output = output.slice(0, maxBytes) + cutNote(maxBytes);
        results.push({ command, output, exitCode: isCut ? null : res.code, latencyMs: performance.now() - t0 });
      } catch (err) {
        if (results.length === 0 && !(err instanceof DeviceError)) {
          // the CLI refused an exec channel: drive it through a shell instead
          return { hostKeySha256, connectMs, results: await runInShell(ssh, commands, target.timeoutMs, maxBytes) };
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
