/**
 * Fuzz door: SSH CLI outputs as the agent reads them (protocols/clients/ssh.ts over a real ssh2 server, the
 * log fallback's bundle with redaction: agent/log-cache.ts formatCliBundle). Each case is one command's answer:
 * text, bytes, cut UTF-8, ANSI escapes, the device password in the output, no exit status, stderr only, a
 * flood beyond the output cap, a command that never ends. Cases are run 50 per SSH session (one connection,
 * like the fallback). The bundle is always built, every output is bounded, the password never survives.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import ssh2 from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityStore, RebootLedger } from '../../agent/identity-trust.ts';
import { formatCliBundle } from '../../agent/log-cache.ts';
import { DEFAULT_MAX_OUTPUT_BYTES, runSshCommands } from '../../protocols/clients/ssh.ts';
import { systemClock } from '../../protocols/clock.ts';
import { FUZZ_RUNS, fuzzDoor } from '../helpers/agent-fuzz-door.ts';
import { tempDir } from '../helpers/agent-harness.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PASSWORD = 'Dev1ce-Adm1n-pw';
const BATCH = 50;

type Answer = {
  stdout: Buffer;
  stderr: string;
  exit: number | 'none';
  mode: 'normal' | 'flood' | 'hang';
};

const outputArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 400 }).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 400 }).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 1500 }).map((a) => Buffer.from(a)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.string({ maxLength: 40 }),
        fc.constantFrom(PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(PASSWORD).toString('base64')),
      )
      .map(([text, secret]) => Buffer.from(`${text} password ${secret}\r\n-> `)),
  },
  { weight: 1, arbitrary: fc.constant(Buffer.from('\u001b[31mERROR\u001b[0m \u202e status end\r\n-> ')) },
  { weight: 1, arbitrary: fc.constant(Buffer.from([0xe2, 0x82])) }, // cut UTF-8
);
const answerArb: fc.Arbitrary<Answer> = fc.record({
  stdout: outputArb,
  stderr: fc.oneof({ weight: 5, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.string({ maxLength: 100 }) }),
  exit: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 }), fc.constant('none' as const)),
  mode: fc.oneof(
    { weight: 400, arbitrary: fc.constant('normal' as const) },
    { weight: 2, arbitrary: fc.constant('flood' as const) },
    { weight: 1, arbitrary: fc.constant('hang' as const) },
  ),
});

async function startCliDevice(current: () => Answer[]) {
  const key = ssh2.utils.generateKeyPairSync('ed25519');
  const clients = new Set<ssh2.Connection>();
  const server = new ssh2.Server({ hostKeys: [key.private] }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => {});
    client.on('authentication', (ctx) =>
      ctx.method === 'password' && ctx.password === PASSWORD ? ctx.accept() : ctx.reject(['password']),
    );
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          stream.on('error', () => {});
          const answer = current()[Number(info.command.slice(1))];
          if (!answer || answer.mode === 'hang') return; // never answers
          if (answer.mode === 'flood') {
            const chunk = Buffer.alloc(64 * 1024, 0x41);
            let sent = 0;
            const pump = () => {
              while (sent < 3 * DEFAULT_MAX_OUTPUT_BYTES && !stream.destroyed) {
                sent += chunk.length;
                if (!stream.write(chunk)) return void stream.once('drain', pump);
              }
              stream.end();
            };
            stream.on('close', () => {
              sent = Number.POSITIVE_INFINITY;
            });
            pump();
            return;
          }
          stream.write(answer.stdout);
          if (answer.stderr) stream.stderr.write(answer.stderr);
          if (answer.exit !== 'none') stream.exit(answer.exit);
          stream.end();
        });
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const c of clients) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('fuzz: SSH CLI outputs', () => {
  it('every output ends in a bounded, redacted CLI bundle', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.close);
    let batch: Answer[] = [];
    const device = await startCliDevice(() => batch);
    cleanups.push(device.close);
    const hostKeys = new IdentityStore({
      dataDir: tmp.dir,
      file: 'known-ssh-host-keys.json',
      channel: 'ssh',
      ledger: new RebootLedger(systemClock),
      onChange: () => {},
      now: () => new Date().toISOString(),
    });
    const target = {
      host: '127.0.0.1',
      port: device.port,
      username: 'admin',
      password: PASSWORD,
      timeoutMs: 1500,
      verifyHostKey: (fp: string) => hostKeys.checkWithEvidence('FUZZ0001', fp, undefined),
    };
    const summary = await fuzzDoor(
      'agent-ssh-cli-outputs',
      fc.array(answerArb, { minLength: BATCH, maxLength: BATCH }),
      async (answers) => {
        batch = answers;
        const commands = answers.map((_, i) => `c${i}`);
        const session = await runSshCommands(target, commands);
        expect(session.results).toHaveLength(answers.length);
        const text = formatCliBundle('FUZZ0001', undefined, session, new Date().toISOString(), [PASSWORD]);
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(encodeURIComponent(PASSWORD));
        expect(text).not.toContain(Buffer.from(PASSWORD).toString('base64'));
        let accepted = 0;
        for (const r of session.results) {
          expect(r.output.length).toBeLessThanOrEqual(DEFAULT_MAX_OUTPUT_BYTES + 100);
          if (r.exitCode !== null && r.exitCode !== undefined) accepted++;
        }
        return { accepted, rejected: answers.length - accepted };
      },
      { runs: Math.max(1, Math.ceil(FUZZ_RUNS / BATCH)) },
    );
    expect(summary.crashes).toBe(0);
    expect(summary.unhandled).toBe(0);
    expect(summary.growthMiB).toBeLessThan(512);
  }, 1_800_000);
});
