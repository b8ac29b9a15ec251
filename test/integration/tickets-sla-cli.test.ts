/** `hezo sla deadlines` through the real command line (node bin/hezo.js), sharing the hub's clock code. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = resolve(import.meta.dirname, '../../bin/hezo.js');

async function sla(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, 'sla', 'deadlines', ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('hezo sla deadlines', () => {
  it('P3 sent Friday 14:00 is due Monday 10:00, with update, delivery (none for P3) and return', async () => {
    const { code, stdout } = await sla(
      '--priority',
      'P3',
      '--opened',
      '2025-01-10T14:00:00+01:00',
      '--acknowledged',
      '2025-01-13T09:30:00+01:00',
      '--accepted',
      '2025-01-13T11:00:00+01:00',
      '--delivered',
      '2025-01-14T11:00:00+01:00',
    );
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(stdout)).toEqual({
      clockStart: '2025-01-10T13:00:00.000Z',
      // Clock arithmetic: 2 h Friday + 2 h Monday -> Mon 10:00+01.
      reactionDue: '2025-01-13T09:00:00.000Z',
      // SLA-7 P3 +4 business h from Mon 09:30 -> 13:30+01.
      nextUpdateDue: '2025-01-13T12:30:00.000Z',
      // SLA-13: no delivery clock for P3.
      deliveryDue: null,
      // SLA-14: +7 days at the same local time.
      returnDue: '2025-01-21T10:00:00.000Z',
    });
  });

  it('P2 sent 16:00 on Friday before Easter Monday starts Tuesday; delivery over Corpus Christi', async () => {
    const { code, stdout } = await sla(
      '--priority',
      'P2',
      '--opened',
      '2025-04-18T16:00:00+02:00',
      '--accepted',
      '2025-06-18T10:00:00+02:00',
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      clockStart: '2025-04-22T06:00:00.000Z',
      reactionDue: '2025-04-22T07:00:00.000Z',
      // accepted Wed 18 Jun -> Thu 19 Jun Corpus Christi -> Fri 20 Jun 16:00+02.
      deliveryDue: '2025-06-20T14:00:00.000Z',
    });
  });

  it('P1 over a holiday: one real hour; an ISO time without offset is Warsaw local time', async () => {
    const { stdout } = await sla('--priority', 'P1', '--opened', '2025-12-25T12:00');
    expect(JSON.parse(stdout)).toEqual({
      clockStart: '2025-12-25T11:00:00.000Z',
      reactionDue: '2025-12-25T12:00:00.000Z',
    });
  });

  it.each([
    [['--opened', '2025-01-10T14:00:00Z'], /--priority is required/],
    [['--priority', 'P4', '--opened', '2025-01-10T14:00:00Z'], /--priority: expected P1, P2 or P3, got "P4"/],
    [['--priority', 'P1', '--opened', 'yesterday'], /--opened: expected an ISO 8601 date-time, got "yesterday"/],
    [
      ['--priority', 'P1', '--opened', '2025-01-10T14:00:00Z', '--acknowledged', '2025-01-09T14:00:00Z'],
      /--acknowledged: must not be before --opened/,
    ],
  ])('bad input %j exits 2 with one line naming the flag', async (args, message) => {
    const { code, stdout, stderr } = await sla(...(args as string[]));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
  });
});
