/** A real Debian `influxd` 1.x on free loopback ports with a scratch config (environment.md recipe), for B7. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, sleep, tempDir } from './common.ts';

export async function startInfluxd(path = process.env.HEZO_INFLUXD ?? '/usr/bin/influxd') {
  const tmp = tempDir('influxd');
  const httpPort = await freePort();
  const rpcPort = await freePort();
  const conf = join(tmp.dir, 'influxdb.conf');
  writeFileSync(
    conf,
    `reporting-enabled = false\nbind-address = "127.0.0.1:${rpcPort}"\n[meta]\n  dir = "${tmp.dir}/meta"\n` +
      `[data]\n  dir = "${tmp.dir}/data"\n  wal-dir = "${tmp.dir}/wal"\n  query-log-enabled = false\n` +
      `[monitor]\n  store-enabled = false\n[http]\n  bind-address = "127.0.0.1:${httpPort}"\n  auth-enabled = false\n` +
      '  log-enabled = false\n[logging]\n  level = "warn"\n',
  );
  const proc = spawn(path, ['run', '-config', conf], { stdio: ['ignore', 'ignore', 'ignore'] });
  const url = `http://127.0.0.1:${httpPort}`;
  for (let i = 0; ; i += 1) {
    if (proc.exitCode !== null) throw new Error(`influxd exited ${proc.exitCode}`);
    if (
      await fetch(`${url}/ping`).then(
        (r) => r.status === 204,
        () => false,
      )
    )
      break;
    if (i > 300) throw new Error(`influxd not answering on ${url}`);
    await sleep(50);
  }
  return {
    url,
    httpPort,
    async close() {
      if (proc.exitCode === null) {
        const exited = once(proc, 'exit');
        proc.kill('SIGTERM');
        await exited;
      }
      tmp.remove();
    },
  };
}
