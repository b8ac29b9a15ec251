/**
 * `hezo import FILE.csv --config FILE`: customers, contracts and devices into the hub's database in one
 * transaction (hub/registry/import.ts); every bad row named, nothing imported when one is bad (exit 2).
 * With `database.url` (PostgreSQL) the import is announced on the change feed: running hub nodes reload their
 * registry and customers at once. On the embedded SQLite file a running hub keeps the registry it loaded at start
 * and sees the import only after a restart: import into a running single-node hub with `POST /api/import`.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import pino from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import { parseFlags, requireFlag } from '../../protocols/cli-flags.ts';
import { systemClock } from '../../protocols/clock.ts';
import { loadConfig } from '../../protocols/config-common.ts';
import { AppError, ErrorCode, isAppError } from '../../protocols/errors.ts';
import { AuditStore } from '../audit/store.ts';
import { HUB_ENV_OVERRIDES, HubConfig } from '../config.ts';
import { openDb } from '../db.ts';
import { hubDbFile } from '../people/cli.ts';
import { openChangeFeed } from '../store/change-feed-open.ts';
import { openSqlStore } from '../store/open-store.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import { CustomerDirectory } from './customers.ts';
import { importCsv } from './import.ts';
import { Registry } from './registry.ts';

export async function runImport(
  args: string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<number> {
  const { values, positionals } = parseFlags('import', args, { config: { type: 'string', short: 'c' } });
  const csvFile = positionals[0];
  if (csvFile === undefined) throw new AppError(ErrorCode.USAGE, 'hezo import: expected FILE.csv');
  const config = loadConfig(
    HubConfig,
    requireFlag('import', 'config', values.config as string | undefined),
    process.env,
    HUB_ENV_OVERRIDES,
  );
  let csv: string;
  try {
    csv = readFileSync(csvFile, 'utf8');
  } catch (err) {
    throw new AppError(
      ErrorCode.USAGE,
      `hezo import: ${csvFile}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const db = openDb(hubDbFile(config));
  const sql = openSqlStore(config, db);
  try {
    // never started: only its notify (inside the import's transaction) is used, which needs no listening connection
    const feed = openChangeFeed(config, {
      sql,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      metrics: new MetricsRegistry(),
    });
    const writes = new SerialQueue(() => {});
    const registry = new Registry(sql, config, Date.now, { feed, writes });
    const customers = new CustomerDirectory(sql, Date.now, { feed, writes });
    await registry.start();
    await customers.start(config);
    const audit = new AuditStore(sql, Date.now);
    await audit.migrate();
    let result: Awaited<ReturnType<typeof importCsv>>;
    try {
      result = await importCsv(csv, { sql, registry, customers, feed });
    } catch (err) {
      if (isAppError(err, ErrorCode.PAYLOAD_INVALID))
        throw new AppError(
          ErrorCode.USAGE,
          `hezo import: ${csvFile}: ${err.details.length > 0 ? err.details.join('; ') : err.message}`,
        );
      throw err;
    }
    const login = process.env.USER ?? userInfo().username;
    await audit.record({
      actor: { id: `cli:${login}`, name: login },
      action: 'registry.import',
      target: 'registry',
      after: { file: csvFile, ...result },
    });
    out(JSON.stringify(result));
    return 0;
  } finally {
    if (sql.dialect === 'postgres') await sql.close();
    db.close();
  }
}
