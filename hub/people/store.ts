/**
 * People in the hub's database: users (scrypt password hashes), personal API tokens and sign-in sessions
 * (both stored as SHA-256 digests of their secrets). Every read goes to SQLite, so `hezo user ...` on the same
 * file takes effect on a running hub at once.
 */

import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { SEGMENT_PATTERN } from '../../protocols/topics.ts';
import { type Db, migrate } from '../db.ts';
import { isSameDigest, randomSecret, sha256 } from './passwords.ts';
import { ROLES, type Role } from './roles.ts';

const MIGRATIONS = [
  `CREATE TABLE users (
     name TEXT PRIMARY KEY, role TEXT NOT NULL, customer TEXT, wall_customers TEXT,
     password_hash TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
   CREATE TABLE api_tokens (
     id TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, label TEXT NOT NULL,
     secret_sha256 TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT, last_used_at TEXT);
   CREATE TABLE sessions (
     id_sha256 TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
     csrf_token TEXT NOT NULL, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, address TEXT);
   CREATE INDEX sessions_expiry ON sessions(expires_ms);`,
];

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

interface UserRow {
  name: string;
  role: string;
  customer: string | null;
  wall_customers: string | null;
  password_hash: string;
  created_at: string;
  updated_at: string;
}

interface TokenRow {
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
  private readonly db: Db;
  private readonly now: () => number;

  constructor(db: Db, now: () => number) {
    this.db = db;
    this.now = now;
  }

  migrate(): void {
    migrate(this.db, 'people', MIGRATIONS);
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  user(name: string): UserView | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as UserRow | undefined;
    return row === undefined ? undefined : toUser(row);
  }

  passwordHash(name: string): string | undefined {
    const row = this.db.prepare('SELECT password_hash FROM users WHERE name = ?').get(name) as
      | { password_hash: string }
      | undefined;
    return row?.password_hash;
  }

  users(): UserView[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY name').all() as UserRow[]).map(toUser);
  }

  /** DUPLICATE_KEY when the name is taken. */
  addUser(user: NewUser): UserView {
    checkRoleFields(user.role, user.customer, user.customers);
    const at = this.iso();
    const result = this.db
      .prepare(
        `INSERT INTO users (name, role, customer, wall_customers, password_hash, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO NOTHING`,
      )
      .run(
        user.name,
        user.role,
        user.customer ?? null,
        user.customers === undefined ? null : JSON.stringify(user.customers),
        user.passwordHash,
        at,
        at,
      );
    if (result.changes === 0) throw new AppError(ErrorCode.DUPLICATE_KEY, `user "${user.name}" already exists`);
    return this.user(user.name)!;
  }

  updateUser(
    name: string,
    change: { role?: Role; customer?: string | null; customers?: readonly string[] | null; passwordHash?: string },
  ): UserView {
    const current = this.user(name);
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
    this.db.transaction(() => {
      this.db
        .prepare(`UPDATE users SET role = ?, customer = ?, wall_customers = ?, updated_at = ? WHERE name = ?`)
        .run(role, customer ?? null, customers === undefined ? null : JSON.stringify(customers), this.iso(), name);
      if (change.passwordHash !== undefined) {
        this.db.prepare('UPDATE users SET password_hash = ? WHERE name = ?').run(change.passwordHash, name);
      }
      // A new password or role ends every session of the user.
      this.db.prepare('DELETE FROM sessions WHERE user_name = ?').run(name);
    })();
    return this.user(name)!;
  }

  removeUser(name: string): UserView {
    const current = this.user(name);
    if (current === undefined) throw new AppError(ErrorCode.NOT_FOUND, `user "${name}" not found`);
    this.db.prepare('DELETE FROM users WHERE name = ?').run(name);
    return current;
  }

  /** A new personal token: the secret is returned here once and stored only as a digest. */
  createToken(user: string, label: string): { token: string; view: TokenView } {
    if (this.user(user) === undefined) throw new AppError(ErrorCode.NOT_FOUND, `user "${user}" not found`);
    const id = randomBytes(8).toString('hex');
    const secret = randomSecret(32);
    this.db
      .prepare('INSERT INTO api_tokens (id, user_name, label, secret_sha256, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, user, label, sha256(secret), this.iso());
    return { token: `${TOKEN_PREFIX}${id}_${secret}`, view: this.token(id)! };
  }

  token(id: string): TokenView | undefined {
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as TokenRow | undefined;
    return row === undefined ? undefined : toToken(row);
  }

  tokens(user?: string): TokenView[] {
    const rows = (
      user === undefined
        ? this.db.prepare('SELECT * FROM api_tokens ORDER BY created_at, id').all()
        : this.db.prepare('SELECT * FROM api_tokens WHERE user_name = ? ORDER BY created_at, id').all(user)
    ) as TokenRow[];
    return rows.map(toToken);
  }

  revokeToken(id: string): TokenView {
    const result = this.db
      .prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
      .run(this.iso(), id);
    const token = this.token(id);
    if (token === undefined) throw new AppError(ErrorCode.NOT_FOUND, `token "${id}" not found`);
    if (result.changes === 0) throw new AppError(ErrorCode.NOT_FOUND, `token "${id}" is already revoked`);
    return token;
  }

  /** The owner of a live personal token `hzt_<id>_<secret>`, or undefined. */
  userForToken(token: string): { user: UserView; tokenId: string } | undefined {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const rest = token.slice(TOKEN_PREFIX.length);
    const cut = rest.indexOf('_');
    if (cut <= 0) return undefined;
    const id = rest.slice(0, cut);
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as TokenRow | undefined;
    if (row === undefined || row.revoked_at !== null) return undefined;
    if (!isSameDigest(row.secret_sha256, sha256(rest.slice(cut + 1)))) return undefined;
    const user = this.user(row.user_name);
    return user === undefined ? undefined : { user, tokenId: id };
  }

  createSession(user: string, ttlMs: number, address: string): { sessionId: string; csrfToken: string } {
    const sessionId = randomSecret(32);
    const csrfToken = randomSecret(24);
    const now = this.now();
    this.db.prepare('DELETE FROM sessions WHERE expires_ms <= ?').run(now);
    this.db
      .prepare(
        'INSERT INTO sessions (id_sha256, user_name, csrf_token, created_ms, expires_ms, address) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(sha256(sessionId), user, csrfToken, now, now + ttlMs, address);
    return { sessionId, csrfToken };
  }

  /** The session's user and CSRF token while it has not expired. */
  session(sessionId: string): { user: UserView; csrfToken: string } | undefined {
    const row = this.db
      .prepare('SELECT user_name, csrf_token, expires_ms FROM sessions WHERE id_sha256 = ?')
      .get(sha256(sessionId)) as { user_name: string; csrf_token: string; expires_ms: number } | undefined;
    if (row === undefined || row.expires_ms <= this.now()) return undefined;
    const user = this.user(row.user_name);
    return user === undefined ? undefined : { user, csrfToken: row.csrf_token };
  }

  endSession(sessionId: string): boolean {
    return this.db.prepare('DELETE FROM sessions WHERE id_sha256 = ?').run(sha256(sessionId)).changes > 0;
  }
}
