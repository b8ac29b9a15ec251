/** Run a command-line tool with execFile; resolves with its exit code and output (never rejects on exit code). */
import { execFile } from 'node:child_process';

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The signal that ended it (SIGTERM when it outlived `timeoutMs`), or null when it exited by itself. */
  signal: string | null;
}

export function runCmd(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<CmdResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 20_000,
        cwd: options.cwd,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        const signal = err === null ? null : (err.signal ?? null);
        resolve({ code, stdout: String(stdout), stderr: String(stderr), signal });
      },
    );
  });
}
