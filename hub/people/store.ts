/**
 * People in the hub's database: users (scrypt password hashes), personal API tokens and sign-in sessions
 * (both stored as SHA-256 digests of their secrets). Every read goes to the database, so `hezo user ...` on the
 * same file takes effect on a running hub at once, and a session made on one hub node is good on every node
 * sharing the database. On the SqlStore (issue 16): the same queries on SQLite and PostgreSQL.
 */

import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { SEGMENT_PATTERN } from '../../protocols/topics.ts';
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { isSameDigest, randomSecret, sha256 } from './passwords.ts';
import { ROLES, type Role } from './roles.ts';

const tables = (ms: 'INTEGER' | 'BIGINT') => `CREATE TABLE users (
     name TEXT PRIMARY KEY, role TEXT NOT NULL, customer TEXT, wall_customers TEXT,
     password_hash TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
   CREATE TABLE api_tokens (
     id TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, label TEXT NOT NULL,
     secret_sha256 TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT, last_used_at TEXT);
   CREATE TABLE sessions (
     id_sha256 TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
     csrf_token TEXT NOT NULL, created_ms ${ms} NOT NULL, expires_ms ${ms} NOT NULL, address TEXT);
   CREATE INDEX sessions_expiry ON sessions(expires_ms);`;

/** Version 1 on SQLite is the table set earlier hubs made through hub/db.ts (same ledger). */
export const PEOPLE_MIGRATIONS: readonly MigrationStep[] = [{ sqlite: tables('INTEGER'), postgres: tables('BIGINT') }];

export const UserName = z
  .string()
  .min(1)
  .max(64)
  .regex(SEGMENT_PATTERN, 'expected letters, digits, _ . - (a user name)');
export const UserRole = z.enum(ROLES);

/** A user as the API shows it (never the hash). */
export interface UserView {
  name: string;
  role: Role;
  customer?: string;
  /** Wall users limited to some customers. */
  customers?: string[];
  createdAt: string;
  updatedAt: string;
}

export interface NewUser {
  name: string;
  role: Role;
  customer?: string | undefined;
  customers?: readonly string[] | undefined;
  passwordHash: string;
}

export interface TokenView {
  id: string;
  user: string;
  label: string;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

interface UserRow extends Record<string, unknown> {
  name: string;
  role: string;
  customer: string | null;
  wall_customers: string | null;
  password_hash: string;
  created_at: string;
  updated_at: string;
}

interface TokenRow extends Record<string, unknown> {
  id: string;
  user_name: string;
  label: string;
  secret_sha256: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export const TOKEN_PREFIX = 'hzt_';

function toUser(row: UserRow): UserView {
  return {
    name: row.name,
    role: row.role as Role,
    ...(row.customer !== null ? { customer: row.customer } : {}),
    ...(row.wall_customers !== null ? { customers: JSON.parse(row.wall_customers) as string[] } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toToken(row: TokenRow): TokenView {
  return {
    id: row.id,
    user: row.user_name,
    label: row.label,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

/** A customer user needs exactly one customer; only wall users may have a list; staff have neither. */
export function checkRoleFields(role: Role, customer: string | undefined, customers: readonly string[] | undefined) {
  if (role === 'customer' && customer === undefined)
    throw new AppError(ErrorCode.PAYLOAD_INVALID, 'customer: expected the customer this user represents');
  if (role !== 'customer' && customer !== undefined)
    throw new AppError(ErrorCode.PAYLOAD_INVALID, `customer: only a customer user has one (role is ${role})`);
  if (role !== 'wall' && customers !== undefined)
    throw new AppError(ErrorCode.PAYLOAD_INVALID, `customers: only a wall user has a list (role is ${role})`);
}

export class PeopleStore {
  private readonly sql: SqlStore;
  private readonly now: () => number;

  constructor(sql: SqlStore, now: () => number) {
    this.sql = sql;
    this.now = now;
  }

  async migrate(): Promise<void> {
    await runMigrations(this.sql, 'people', PEOPLE_MIGRATIONS);
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private async one<T extends Record<string, unknown>>(sql: string, params: (string | number | null)[]) {
    return (await this.sql.query<T>(sql, params))[0];
  }

  async user(name: string): Promise<UserView | undefined> {
    const row = await this.one<UserRow>('SELECT * FROM users WHERE name = $1', [name]);
    return row === undefined ? undefined : toUser(row);
  }

  async passwordHash(name: string): Promise<string | undefined> {
    const row = await this.one<{ password_hash: string }>('SELECT password_hash FROM users WHERE name = $1', [name]);
    return row?.password_hash;
  }

  async users(): Promise<UserView[]> {
    return (await this.sql.query<UserRow>('SELECT * FROM users ORDER BY name')).map(toUser);
  }

  /** DUPLICATE_KEY when the name is taken. */
  async addUser(user: NewUser): Promise<UserView> {
    checkRoleFields(user.role, user.customer, user.customers);
    const at = this.iso();
    const changes = await this.sql.run(
      `INSERT INTO users (name, role, customer, wall_customers, password_hash, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT(name) DO NOTHING`,
      [
        user.name,
        user.role,
        user.customer ?? null,
        user.customers === undefined ? null : JSON.stringify(user.customers),
        user.passwordHash,
        at,
        at,
      ],
    );
    if (changes === 0) throw new AppError(ErrorCode.DUPLICATE_KEY, `user "${user.name}" already exists`);
    return (await this.user(user.name))!;
  }

  async updateUser(
    name: string,
    change: { role?: Role; customer?: string | null; customers?: readonly string[] | null; passwordHash?: string },
  ): Promise<UserView> {
    const current = await this.user(name);
    if (current === undefined) throw new AppError(ErrorCode.NOT_FOUND, `user "${name}" not found`);
    const role = change.role ?? current.role;
    // Fields that do not fit the (new) role are dropped unless the change names them (then it is an error).
    const customer = role === 'customer' ? (change.customer ?? current.customer) : (change.customer ?? undefined);
    const customers =
      role === 'wall'
        ? change.customers === undefined
          ? current.customers
          : (change.customers ?? undefined)
        : (change.customers ?? undefined);
    checkRoleFields(role, customer, customers);
    await this.sql.transaction(async (tx) => {
      await tx.run(
        `UPDATE users SET role = $1, customer = $2, wall_customers = $3, updated_at = $4,
           password_hash = COALESCE($5, password_hash) WHERE name = $6`,
        [
          role,
          customer ?? null,
          customers === undefined ? null : JSON.stringify(customers),
          this.iso(),
          change.passwordHash ?? null,
          name,
        ],
      );
      // A new password or role ends every session of the user.
      await tx.run('DELETE FROM sessions WHERE user_name = $1', [name]);
    });
    return (await this.user(name))!;
  }

  async removeUser(name: string): Promise<UserView> {
    const current = await this.user(name);
    if (current === undefined) throw new AppError(ErrorCode.NOT_FOUND, `user "${name}" not found`);
    await this.sql.run('DELETE FROM users WHERE name = $1', [name]);
    return current;
  }

  /** A new personal token: the secret is returned here once and stored only as a digest. */
  async createToken(user: string, label: string): Promise<{ token: string; view: TokenView }> {
    if ((await this.user(user)) === undefined) throw new AppError(ErrorCode.NOT_FOUND, `user "${user}" not found`);
    const id = randomBytes(8).toString('hex');
    const secret = randomSecret(32);
    await this.sql.run(
      'INSERT INTO api_tokens (id, user_name, label, secret_sha256, created_at) VALUES ($1, $2, $3, $4, $5)',
      [id, user, label, sha256(secret), this.iso()],
    );
    return { token: `${TOKEN_PREFIX}${id}_${secret}`, view: (await this.token(id))! };
  }

  async token(id: string): Promise<TokenView | undefined> {
    const row = await this.one<TokenRow>('SELECT * FROM api_tokens WHERE id = $1', [id]);
    return row === undefined ? undefined : toToken(row);
  }

  async tokens(user?: string): Promise<TokenView[]> {
    const rows =
      user === undefined
        ? await this.sql.query<TokenRow>('SELECT * FROM api_tokens ORDER BY created_at, id')
        : await this.sql.query<TokenRow>('SELECT * FROM api_tokens WHERE user_name = $1 ORDER BY created_at, id', [
            user,
          ]);
    return rows.map(toToken);
  }

  async revokeToken(id: string): Promise<TokenView> {
    const changes = await this.sql.run('UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [
      this.iso(),
      id,
    ]);
    const token = await this.token(id);
    if (token === undefined) throw new AppError(ErrorCode.NOT_FOUND, `token "${id}" not found`);
    if (changes === 0) throw new AppError(ErrorCode.NOT_FOUND, `token "${id}" is already revoked`);
    return token;
  }

  /** The owner of a live personal token `hzt_<id>_<secret>`, or undefined. */
  async userForToken(token: string): Promise<{ user: UserView; tokenId: string } | undefined> {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const rest = token.slice(TOKEN_PREFIX.length);
    const cut = rest.indexOf('_');
    if (cut <= 0) return undefined;
    const id = rest.slice(0, cut);
    const row = await this.one<TokenRow>('SELECT * FROM api_tokens WHERE id = $1', [id]);
    if (row === undefined || row.revoked_at !== null) return undefined;
    if (!isSameDigest(row.secret_sha256, sha256(rest.slice(cut + 1)))) return undefined;
    const user = await this.user(row.user_name);
    return user === undefined ? undefined : { user, tokenId: id };
  }

  async createSession(user: string, ttlMs: number, address: string): Promise<{ sessionId: string; csrfToken: string }> {
    const sessionId = randomSecret(32);
    const csrfToken = randomSecret(24);
    const now = this.now();
    await this.sql.run('DELETE FROM sessions WHERE expires_ms <= $1', [now]);
    await this.sql.run(
      'INSERT INTO sessions (id_sha256, user_name, csrf_token, created_ms, expires_ms, address) VALUES ($1, $2, $3, $4, $5, $6)',
      [sha256(sessionId), user, csrfToken, now, now + ttlMs, address],
    );
    return { sessionId, csrfToken };
  }

  /** The session's user and CSRF token while it has not expired. */
  async session(sessionId: string): Promise<{ user: UserView; csrfToken: string } | undefined> {
    const row = await this.one<{ user_name: string; csrf_token: string; expires_ms: number | string }>(
      'SELECT user_name, csrf_token, expires_ms FROM sessions WHERE id_sha256 = $1',
      [sha256(sessionId)],
    );
    if (row === undefined || Number(row.expires_ms) <= this.now()) return undefined;
    const user = await this.user(row.user_name);
    return user === undefined ? undefined : { user, csrfToken: row.csrf_token };
  }

  async endSession(sessionId: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM sessions WHERE id_sha256 = $1', [sha256(sessionId)])) > 0;
  }
}
