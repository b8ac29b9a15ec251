/**
 * The customers and sites tables over SqlStore: ONE migration list (version 1 is what hub/db.ts `migrate()` created
 * in earlier hubs) and the same queries on SQLite and PostgreSQL. A repo over a transaction writes inside it.
 */
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import type { SqlStore } from '../store/sql-store.ts';

export const CUSTOMER_MIGRATIONS: readonly MigrationStep[] = [
  `CREATE TABLE customers (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, contact_email TEXT, source TEXT NOT NULL,
     created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
   CREATE TABLE sites (
     id TEXT PRIMARY KEY, customer TEXT NOT NULL REFERENCES customers(id), name TEXT, source TEXT NOT NULL,
     created_at TEXT NOT NULL);`,
];

export interface Customer {
  id: string;
  name: string;
  contactEmail?: string;
  source: 'config' | 'api';
}

export interface Site {
  id: string;
  customer: string;
  name?: string;
}

interface CustomerRow extends Record<string, unknown> {
  id: string;
  name: string;
  contact_email: string | null;
  source: string;
}

interface SiteRow extends Record<string, unknown> {
  id: string;
  customer: string;
  name: string | null;
}

function toCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    name: row.name,
    ...(row.contact_email !== null ? { contactEmail: row.contact_email } : {}),
    source: row.source as Customer['source'],
  };
}

const toSite = (r: SiteRow): Site => ({ id: r.id, customer: r.customer, ...(r.name !== null ? { name: r.name } : {}) });

export class CustomerRepo {
  private readonly store: SqlStore;

  constructor(store: SqlStore) {
    this.store = store;
  }

  migrate(): Promise<number[]> {
    return runMigrations(this.store, 'customers', CUSTOMER_MIGRATIONS);
  }

  /** A config entry: inserted, or the stored one replaced (config wins). */
  async upsertFromConfig(c: { id: string; name: string; contactEmail?: string | undefined }, at: string) {
    await this.store.run(
      `INSERT INTO customers (id, name, contact_email, source, created_at, updated_at)
       VALUES ($1, $2, $3, 'config', $4, $4)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, contact_email = excluded.contact_email,
         source = 'config', updated_at = excluded.updated_at`,
      [c.id, c.name, c.contactEmail ?? null, at],
    );
  }

  /** Create only: false when the id is stored already. */
  async insert(c: { id: string; name: string; contactEmail?: string | undefined }, at: string): Promise<boolean> {
    const changed = await this.store.run(
      `INSERT INTO customers (id, name, contact_email, source, created_at, updated_at) VALUES ($1, $2, $3, 'api', $4, $4)
       ON CONFLICT (id) DO NOTHING`,
      [c.id, c.name, c.contactEmail ?? null, at],
    );
    return changed > 0;
  }

  async update(id: string, name: string, email: string | null, at: string): Promise<boolean> {
    const changed = await this.store.run(
      'UPDATE customers SET name = $1, contact_email = $2, updated_at = $3 WHERE id = $4',
      [name, email, at, id],
    );
    return changed > 0;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.store.run('DELETE FROM customers WHERE id = $1', [id])) > 0;
  }

  async get(id: string): Promise<Customer | undefined> {
    const [row] = await this.store.query<CustomerRow>('SELECT * FROM customers WHERE id = $1', [id]);
    return row === undefined ? undefined : toCustomer(row);
  }

  async list(): Promise<Customer[]> {
    return (await this.store.query<CustomerRow>('SELECT * FROM customers ORDER BY id')).map(toCustomer);
  }

  async site(id: string): Promise<Site | undefined> {
    const [row] = await this.store.query<SiteRow>('SELECT id, customer, name FROM sites WHERE id = $1', [id]);
    return row === undefined ? undefined : toSite(row);
  }

  async sites(): Promise<Site[]> {
    return (await this.store.query<SiteRow>('SELECT id, customer, name FROM sites ORDER BY id')).map(toSite);
  }

  async insertSite(site: Site, at: string): Promise<boolean> {
    const changed = await this.store.run(
      `INSERT INTO sites (id, customer, name, source, created_at) VALUES ($1, $2, $3, 'api', $4)
       ON CONFLICT (id) DO NOTHING`,
      [site.id, site.customer, site.name ?? null, at],
    );
    return changed > 0;
  }

  async deleteSite(id: string): Promise<boolean> {
    return (await this.store.run('DELETE FROM sites WHERE id = $1', [id])) > 0;
  }

  /** What still names customer `id` in the database: sites and users (people store, when its table exists). */
  async uses(id: string): Promise<string[]> {
    const count = async (sql: string) => Number((await this.store.query<{ n: number | string }>(sql, [id]))[0]?.n ?? 0);
    const sites = await count('SELECT COUNT(*) AS n FROM sites WHERE customer = $1');
    const hasUsers = await this.tableExists('users');
    const users = hasUsers ? await count('SELECT COUNT(*) AS n FROM users WHERE customer = $1') : 0;
    return [...(sites > 0 ? [`${sites} site(s)`] : []), ...(users > 0 ? [`${users} user(s)`] : [])];
  }

  private async tableExists(name: string): Promise<boolean> {
    const sql =
      this.store.dialect === 'sqlite'
        ? "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = $1"
        : 'SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1';
    const [row] = await this.store.query<{ n: number | string }>(sql, [name]);
    return Number(row?.n ?? 0) > 0;
  }
}
