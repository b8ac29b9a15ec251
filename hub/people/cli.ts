/**
 * `hezo user add NAME --role admin|engineer|customer|wall [--customer C] [--customers A,B] --config FILE`
 * (password from `HEZO_USER_PASSWORD` or stdin), `hezo user list|remove NAME|passwd NAME --config FILE`,
 * `hezo token create USER [--label L] --config FILE` (prints the token once), `hezo token list [USER]`,
 * `hezo token revoke ID --config FILE`. They work on the hub's database file (the hub may be running: every
 * request reads users and tokens from it) and write the audit trail as `cli:<login>`.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseFlags, requireFlag } from '../../protocols/cli-flags.ts';
import { loadConfig } from '../../protocols/config-common.ts';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { AuditStore } from '../audit/store.ts';
import { HUB_ENV_OVERRIDES, type HubConfig, HubConfig as HubConfigSchema } from '../config.ts';
import { type Db, openDb } from '../db.ts';
import { openSqlStore } from '../store/open-store.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { hashUserPassword, MIN_PASSWORD_LENGTH } from './passwords.ts';
import { ROLES, type Role } from './roles.ts';
import { PeopleStore, type TokenView, UserName, type UserView } from './store.ts';

export interface CliIo {
  env: NodeJS.ProcessEnv;
  readStdin(): Promise<string>;
  out(line: string): void;
}

const processIo: CliIo = {
  env: process.env,
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  out: (line) => process.stdout.write(`${line}\n`),
};

/** The hub's SQLite file for a config (same rule as createHub). */
export function hubDbFile(config: Pick<HubConfig, 'dataDir'>): string {
  return join(config.dataDir, 'hezo.sqlite');
}

interface Opened {
  config: HubConfig;
  db: Db;
  store: PeopleStore;
  audit: AuditStore;
  sql: SqlStore;
  actor: { id: string; name: string };
}

async function open(command: string, file: string | undefined, env: NodeJS.ProcessEnv): Promise<Opened> {
  const config = loadConfig(HubConfigSchema, requireFlag(command, 'config', file), env, HUB_ENV_OVERRIDES);
  const db = openDb(hubDbFile(config));
  // the hub's people and audit store: PostgreSQL when database.url is set, else this file
  const sql = openSqlStore(config as HubConfig, db);
  const store = new PeopleStore(sql, Date.now);
  const audit = new AuditStore(sql, Date.now);
  await store.migrate();
  await audit.migrate();
  const login = env.USER ?? userInfo().username;
  return { config: config as HubConfig, db, sql, store, audit, actor: { id: `cli:${login}`, name: login } };
}

async function closeOpened(opened: Opened): Promise<void> {
  if (opened.sql.dialect === 'postgres') await opened.sql.close();
  opened.db.close();
}

/** Customers the hub knows: the config's, and those of registered devices and contracts. */
export function knownCustomers(db: Db, config: Pick<HubConfig, 'customers'>): Set<string> {
  const ids = new Set(config.customers.map((c) => c.id));
  for (const table of ['customers', 'devices', 'contracts']) {
    const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table);
    if (exists === undefined) continue;
    const column = table === 'customers' ? 'id' : 'customer';
    for (const row of db.prepare(`SELECT DISTINCT ${column} AS id FROM ${table}`).all() as { id: string }[])
      ids.add(row.id);
  }
  return ids;
}

async function readPassword(command: string, io: CliIo): Promise<string> {
  const fromEnv = io.env.HEZO_USER_PASSWORD;
  const password = fromEnv !== undefined && fromEnv !== '' ? fromEnv : (await io.readStdin()).replace(/\r?\n$/, '');
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new AppError(
      ErrorCode.USAGE,
      `hezo ${command}: password: expected at least ${MIN_PASSWORD_LENGTH} characters (HEZO_USER_PASSWORD or stdin)`,
    );
  }
  return password;
}

function positional(command: string, positionals: string[], what: string): string {
  const value = positionals[0];
  if (value === undefined || value === '') throw new AppError(ErrorCode.USAGE, `hezo ${command}: expected ${what}`);
  return value;
}

export async function runUser(args: string[], io: CliIo = processIo): Promise<number> {
  const [sub, ...rest] = args;
  const command = `user ${sub ?? ''}`.trim();
  const { values, positionals } = parseFlags(command, rest, {
    config: { type: 'string', short: 'c' },
    role: { type: 'string' },
    customer: { type: 'string' },
    customers: { type: 'string' },
  });
  if (sub !== 'add' && sub !== 'list' && sub !== 'remove' && sub !== 'passwd') {
    throw new AppError(ErrorCode.USAGE, 'hezo user: expected add, list, remove or passwd');
  }
  const opened = await open(command, values.config as string | undefined, io.env);
  const { store, audit, actor } = opened;
  try {
    if (sub === 'list') {
      for (const user of await store.users()) io.out(JSON.stringify(user));
      return 0;
    }
    const name = positional(command, positionals, 'a user name');
    if (sub === 'add') {
      const parsedName = UserName.safeParse(name);
      if (!parsedName.success)
        throw new AppError(ErrorCode.USAGE, `hezo ${command}: NAME: ${parsedName.error.issues[0]?.message}`);
      const role = values.role as string | undefined;
      if (role === undefined || !(ROLES as readonly string[]).includes(role)) {
        throw new AppError(
          ErrorCode.USAGE,
          `hezo ${command}: --role: expected one of ${ROLES.join('|')}, got "${role ?? ''}"`,
        );
      }
      const customer = values.customer as string | undefined;
      const customers = (values.customers as string | undefined)?.split(',').filter((c) => c !== '');
      const known = knownCustomers(opened.db, opened.config);
      for (const c of [customer, ...(customers ?? [])]) {
        if (c !== undefined && !known.has(c))
          throw new AppError(ErrorCode.USAGE, `hezo ${command}: --customer: no customer "${c}"`);
      }
      const passwordHash = await hashUserPassword(await readPassword(command, io));
      let user: UserView;
      try {
        user = await store.addUser({ name, role: role as Role, customer, customers, passwordHash });
      } catch (err) {
        throw new AppError(ErrorCode.USAGE, `hezo ${command}: ${(err as Error).message}`, { cause: err });
      }
      await audit.record({ actor, action: 'user.add', target: `user:${name}`, after: user });
      io.out(JSON.stringify(user));
      return 0;
    }
    if (sub === 'remove') {
      const before = await store.removeUser(name);
      await audit.record({ actor, action: 'user.remove', target: `user:${name}`, before });
      io.out(`removed ${name}`);
      return 0;
    }
    const before = await store.user(name);
    if (before === undefined) throw new AppError(ErrorCode.USAGE, `hezo ${command}: no user "${name}"`);
    const after = await store.updateUser(name, {
      passwordHash: await hashUserPassword(await readPassword(command, io)),
    });
    await audit.record({
      actor,
      action: 'user.update',
      target: `user:${name}`,
      before,
      after: { ...after, password: 'changed' },
    });
    io.out(`password changed for ${name}`);
    return 0;
  } finally {
    await closeOpened(opened);
  }
}

export async function runToken(args: string[], io: CliIo = processIo): Promise<number> {
  const [sub, ...rest] = args;
  const command = `token ${sub ?? ''}`.trim();
  const { values, positionals } = parseFlags(command, rest, {
    config: { type: 'string', short: 'c' },
    label: { type: 'string' },
  });
  if (sub !== 'create' && sub !== 'revoke' && sub !== 'list') {
    throw new AppError(ErrorCode.USAGE, 'hezo token: expected create, list or revoke');
  }
  const opened = await open(command, values.config as string | undefined, io.env);
  const { store, audit, actor } = opened;
  try {
    if (sub === 'list') {
      for (const token of await store.tokens(positionals[0])) io.out(JSON.stringify(token));
      return 0;
    }
    if (sub === 'create') {
      const user = positional(command, positionals, 'the user who owns the token');
      if ((await store.user(user)) === undefined)
        throw new AppError(ErrorCode.USAGE, `hezo ${command}: no user "${user}"`);
      const { token, view } = await store.createToken(user, (values.label as string | undefined) ?? 'cli');
      await audit.record({ actor, action: 'token.create', target: `token:${view.id}`, after: view });
      io.out(token);
      return 0;
    }
    const id = positional(command, positionals, 'a token id');
    let revoked: TokenView;
    try {
      revoked = await store.revokeToken(id);
    } catch (err) {
      throw new AppError(ErrorCode.USAGE, `hezo ${command}: ${(err as Error).message}`, { cause: err });
    }
    await audit.record({ actor, action: 'token.revoke', target: `token:${id}`, before: revoked });
    io.out(`revoked ${id}`);
    return 0;
  } finally {
    await closeOpened(opened);
  }
}
