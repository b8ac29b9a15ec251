import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runAgent } from '../../agent/main.ts';
import { isAppError } from '../../protocols/errors.ts';
import { tempDir } from '../helpers/agent-harness.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function failure(args: string[]): Promise<{ code: string; message: string }> {
  try {
    await runAgent(args);
  } catch (err) {
    if (isAppError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected runAgent to throw');
}

function file(name: string, text: string): string {
  const tmp = tempDir();
  cleanups.push(tmp.close);
  const path = join(tmp.dir, name);
  writeFileSync(path, text);
  return path;
}

const GOOD = `version: 1
agentId: a1
site: s1
customer: c1
mqtt: { url: "mqtt://127.0.0.1:1883" }
devices:
  - serial: SN1
    address: 10.0.0.5
    rest: { password: pw-very-secret }
    snmp: { community: public }
`;

describe('agent config and flags', () => {
  it('a missing field is CONFIG_INVALID naming the field', async () => {
    const bad = file('a.yaml', GOOD.replace('site: s1\n', ''));
    expect(await failure(['--config', bad])).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/site/),
    });
  });

  it('a wrong field is CONFIG_INVALID naming the path, without echoing the password', async () => {
    const bad = file('a.yaml', GOOD.replace('address: 10.0.0.5', 'address: ""').replace('pw-very-secret', ''));
    const { code, message } = await failure(['--config', bad]);
    expect(code).toBe('CONFIG_INVALID');
    expect(message).toMatch(/devices\[0\]\.address/);
    expect(message).toMatch(/devices\[0\]\.rest\.password/);
  });

  it('a REST channel without REST settings is CONFIG_INVALID naming devices[0].rest', async () => {
    const bad = file('a.yaml', GOOD.replace('    rest: { password: pw-very-secret }\n', ''));
    expect(await failure(['--config', bad])).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/devices\[0\]\.rest/),
    });
  });

  it('unknown flags and a missing --config are USAGE errors', async () => {
    expect(await failure(['--nope'])).toMatchObject({ code: 'USAGE' });
    expect(await failure([])).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/--config/) });
  });
});
