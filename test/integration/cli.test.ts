import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/main.ts';

const run = promisify(execFile);
const bin = resolve(import.meta.dirname, '../../bin/hezo.js');

async function hezo(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('hezo command line', () => {
  it('--help lists every subcommand', async () => {
    const { code, stdout } = await hezo('--help');
    expect(code).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('an unknown subcommand exits 2 with one clear line', async () => {
    const { code, stderr } = await hezo('teleport');
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual(['hezo: unknown command "teleport" (try hezo --help)']);
  });

  it('an unknown flag exits 2 with one clear line', async () => {
    const { code, stderr } = await hezo('sla', 'deadlines', '--colour', 'red');
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/--colour/);
  });

  it('<cmd> --help prints its usage', async () => {
    const { code, stdout } = await hezo('agent', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('hezo agent --config FILE');
  });
});
