/**
 * `hezo import FILE.csv --config FILE`: customers, contracts and devices into the hub's database in one
 * transaction (hub/registry/import.ts); every bad row named, nothing imported when one is bad (exit 2).
 * A running hub keeps its registry in memory: import into a running hub with `POST /api/import` instead.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseFlags, requireFlag } from '../../protocols/cli-flags.ts';
import { loadConfig } from '../../protocols/config-common.ts';
import { AppError, ErrorCode, isAppError } from '../../protocols/errors.ts';
import { AuditStore } from '../audit/store.ts';
import { HUB_ENV_OVERRIDES, HubConfig } from '../config.ts';
import { openDb } from '../db.ts';
import { hubDbFile } from '../people/cli.ts';
import { openSqlStore } from '../store/open-store.ts';
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
    const registry = new Registry(db, config, Date.now);
    const customers = new CustomerDirectory(db, Date.now);
    registry.start();
    customers.start(config);
    const audit = new AuditStore(sql, Date.now);
    await audit.migrate();
    let result: ReturnType<typeof importCsv>;
    try {
      result = importCsv(csv, { db, registry, customers });
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
