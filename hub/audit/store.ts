/**
 * The audit trail: one append-only table (triggers refuse UPDATE and DELETE, on PostgreSQL also TRUNCATE). Each row
 * says who (principal id, name, role), what (action, target, before/after as JSON), when and from which address.
 * The first hub store on the SqlStore abstraction (issue 16): the same queries run on the embedded SQLite file and on
 * PostgreSQL, with one migration list (version 1 is the table earlier hubs created with hub/db.ts's ledger).
 */
import type { MigrationStep } from '../store/migrations.ts';
import { runMigrations } from '../store/migrations.ts';
import type { SqlStore, SqlValue } from '../store/sql-store.ts';

const COLUMNS = `at TEXT NOT NULL, actor_id TEXT NOT NULL, actor_name TEXT NOT NULL,
     actor_role TEXT, address TEXT, action TEXT NOT NULL, target TEXT, before_json TEXT, after_json TEXT`;

export const AUDIT_MIGRATIONS: readonly MigrationStep[] = [
  {
    sqlite: `CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, ${COLUMNS});
   CREATE INDEX audit_log_at ON audit_log(at);
   CREATE INDEX audit_log_target ON audit_log(target);
   CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
   CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;`,
    postgres: `CREATE TABLE audit_log (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ${COLUMNS});
   CREATE INDEX audit_log_at ON audit_log(at);
   CREATE INDEX audit_log_target ON audit_log(target);
   CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
     $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
   CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
   CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
     FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();`,
  },
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

interface Row extends Record<string, unknown> {
  id: number | string;
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
  private readonly store: SqlStore;
  private readonly now: () => number;

  constructor(store: SqlStore, now: () => number) {
    this.store = store;
    this.now = now;
  }

  async migrate(): Promise<void> {
    await runMigrations(this.store, 'audit', AUDIT_MIGRATIONS);
  }

  async record(input: AuditInput): Promise<number> {
    const rows = await this.store.query<{ id: number | string }>(
      `INSERT INTO audit_log (at, actor_id, actor_name, actor_role, address, action, target, before_json, after_json)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [
        new Date(this.now()).toISOString(),
        input.actor.id,
        input.actor.name,
        input.actor.role ?? null,
        input.address ?? null,
        input.action,
        input.target ?? null,
        json(input.before),
        json(input.after),
      ],
    );
    return Number(rows[0]?.id);
  }

  async query(filter: AuditFilter): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: SqlValue[] = [];
    const param = (value: SqlValue): string => {
      args.push(value);
      return `$${args.length}`;
    };
    if (filter.actor !== undefined) {
      const p = param(filter.actor);
      where.push(`(actor_id = ${p} OR actor_name = ${p})`);
    }
    if (filter.action !== undefined) {
      where.push(
        filter.action.endsWith('.*')
          ? `action LIKE ${param(`${filter.action.slice(0, -1)}%`)}`
          : `action = ${param(filter.action)}`,
      );
    }
    if (filter.target !== undefined) where.push(`target = ${param(filter.target)}`);
    if (filter.from !== undefined) where.push(`at >= ${param(new Date(filter.from).toISOString())}`);
    if (filter.to !== undefined) where.push(`at < ${param(new Date(filter.to).toISOString())}`);
    if (filter.afterId !== undefined) where.push(`id > ${param(filter.afterId)}`);
    const sql = `SELECT * FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ${param(filter.limit)}`;
    const rows = await this.store.query<Row>(sql, args);
    return rows.map((r) => ({
      id: Number(r.id),
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
