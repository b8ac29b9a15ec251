/**
 * The audit trail: one append-only table (SQLite triggers refuse UPDATE and DELETE). Each row says who (principal
 * id, name, role), what (action, target, before/after as JSON), when and from which address.
 */
import { type Db, migrate } from '../db.ts';

const MIGRATIONS = [
  `CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor_id TEXT NOT NULL, actor_name TEXT NOT NULL,
     actor_role TEXT, address TEXT, action TEXT NOT NULL, target TEXT, before_json TEXT, after_json TEXT);
   CREATE INDEX audit_log_at ON audit_log(at);
   CREATE INDEX audit_log_target ON audit_log(target);
   CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
   CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;`,
];

export interface AuditActor {
  id: string;
  name: string;
  role?: string | undefined;
}

export interface AuditInput {
  actor: AuditActor;
  address?: string | undefined;
  /** `ticket.transition`, `user.add`, `session.sign-in-failed`, `device.update`, ... */
  action: string;
  /** `ticket:HZ-000001`, `user:jan`, `device:8L2X50-0001`, ... */
  target?: string | undefined;
  before?: unknown;
  after?: unknown;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: { id: string; name: string; role: string | null };
  address: string | null;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
}

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  afterId?: number | undefined;
  limit: number;
}

interface Row {
  id: number;
  at: string;
  actor_id: string;
  actor_name: string;
  actor_role: string | null;
  address: string | null;
  action: string;
  target: string | null;
  before_json: string | null;
  after_json: string | null;
}

const SECRET_KEY = /^(password|passwordHash|token|secret|csrfToken|sessionId)$/i;

/** Secrets never enter the trail, even when a handler returns them once. */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redactSecrets(v, depth + 1);
  return out;
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(redactSecrets(value));
}

export class AuditStore {
  private readonly db: Db;
  private readonly now: () => number;

  constructor(db: Db, now: () => number) {
    this.db = db;
    this.now = now;
  }

  migrate(): void {
    migrate(this.db, 'audit', MIGRATIONS);
  }

  record(input: AuditInput): number {
    const result = this.db
      .prepare(
        `INSERT INTO audit_log (at, actor_id, actor_name, actor_role, address, action, target, before_json, after_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        new Date(this.now()).toISOString(),
        input.actor.id,
        input.actor.name,
        input.actor.role ?? null,
        input.address ?? null,
        input.action,
        input.target ?? null,
        json(input.before),
        json(input.after),
      );
    return Number(result.lastInsertRowid);
  }

  query(filter: AuditFilter): AuditEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.actor !== undefined) {
      where.push('(actor_id = ? OR actor_name = ?)');
      args.push(filter.actor, filter.actor);
    }
    if (filter.action !== undefined) {
      where.push(filter.action.endsWith('.*') ? 'action LIKE ?' : 'action = ?');
      args.push(filter.action.endsWith('.*') ? `${filter.action.slice(0, -1)}%` : filter.action);
    }
    if (filter.target !== undefined) {
      where.push('target = ?');
      args.push(filter.target);
    }
    if (filter.from !== undefined) {
      where.push('at >= ?');
      args.push(new Date(filter.from).toISOString());
    }
    if (filter.to !== undefined) {
      where.push('at < ?');
      args.push(new Date(filter.to).toISOString());
    }
    if (filter.afterId !== undefined) {
      where.push('id > ?');
      args.push(filter.afterId);
    }
    const sql = `SELECT * FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, filter.limit) as Row[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      actor: { id: r.actor_id, name: r.actor_name, role: r.actor_role },
      address: r.address,
      action: r.action,
      target: r.target,
      before: r.before_json === null ? null : JSON.parse(r.before_json),
      after: r.after_json === null ? null : JSON.parse(r.after_json),
    }));
  }
}
