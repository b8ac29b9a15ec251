/**
 * Customers and sites as the registry's own records: seeded from the config at every start (config entries
 * win, `source: config`), created, edited and removed through the API (`source: api`). The reference for every
 * referential check (a contract's, a device's, a user's customer must exist).
 */
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { HubConfig } from '../config.ts';
import { type Db, migrate } from '../db.ts';

const MIGRATIONS = [
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

interface CustomerRow {
  id: string;
  name: string;
  contact_email: string | null;
  source: string;
}

function toCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    name: row.name,
    ...(row.contact_email !== null ? { contactEmail: row.contact_email } : {}),
    source: row.source as Customer['source'],
  };
}

export class CustomerDirectory {
  private readonly db: Db;
  private readonly now: () => number;

  constructor(db: Db, now: () => number) {
    this.db = db;
    this.now = now;
  }

  start(config: Pick<HubConfig, 'customers'>): void {
    migrate(this.db, 'customers', MIGRATIONS);
    const at = this.iso();
    const upsert = this.db.prepare(
      `INSERT INTO customers (id, name, contact_email, source, created_at, updated_at) VALUES (?, ?, ?, 'config', ?, ?)
       ON CONFLICT(id) DO UPDATE SET name = excluded.name, contact_email = excluded.contact_email, source = 'config',
         updated_at = excluded.updated_at`,
    );
    this.db.transaction(() => {
      for (const c of config.customers) upsert.run(c.id, c.name, c.contactEmail ?? null, at, at);
    })();
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  exists(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM customers WHERE id = ?').get(id) !== undefined;
  }

  get(id: string): Customer | undefined {
    const row = this.db.prepare('SELECT * FROM customers WHERE id = ?').get(id) as CustomerRow | undefined;
    return row === undefined ? undefined : toCustomer(row);
  }

  list(): Customer[] {
    return (this.db.prepare('SELECT * FROM customers ORDER BY id').all() as CustomerRow[]).map(toCustomer);
  }

  add(customer: { id: string; name: string; contactEmail?: string | undefined }): Customer {
    const at = this.iso();
    const result = this.db
      .prepare(
        `INSERT INTO customers (id, name, contact_email, source, created_at, updated_at) VALUES (?, ?, ?, 'api', ?, ?)
         ON CONFLICT(id) DO NOTHING`,
      )
      .run(customer.id, customer.name, customer.contactEmail ?? null, at, at);
    if (result.changes === 0) throw new AppError(ErrorCode.DUPLICATE_KEY, `customer "${customer.id}" already exists`);
    return this.get(customer.id)!;
  }

  update(id: string, change: { name?: string | undefined; contactEmail?: string | null | undefined }): Customer {
    const current = this.get(id);
    if (current === undefined) throw new AppError(ErrorCode.NOT_FOUND, `customer "${id}" not found`);
    const email = change.contactEmail === undefined ? (current.contactEmail ?? null) : change.contactEmail;
    this.db
      .prepare('UPDATE customers SET name = ?, contact_email = ?, updated_at = ? WHERE id = ?')
      .run(change.name ?? current.name, email, this.iso(), id);
    return this.get(id)!;
  }

  /** IN_USE while devices, contracts, sites or users still name it. */
  remove(id: string, usedBy: string[]): Customer {
    const current = this.get(id);
    if (current === undefined) throw new AppError(ErrorCode.NOT_FOUND, `customer "${id}" not found`);
    const sites = this.db.prepare('SELECT COUNT(*) AS n FROM sites WHERE customer = ?').get(id) as { n: number };
    const users = this.db
      .prepare(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'users'`)
      .get() as { n: number };
    const userCount =
      users.n > 0
        ? (this.db.prepare('SELECT COUNT(*) AS n FROM users WHERE customer = ?').get(id) as { n: number }).n
        : 0;
    const uses = [
      ...usedBy,
      ...(sites.n > 0 ? [`${sites.n} site(s)`] : []),
      ...(userCount > 0 ? [`${userCount} user(s)`] : []),
    ];
    if (uses.length > 0) throw new AppError(ErrorCode.IN_USE, `customer "${id}" is still used by ${uses.join(', ')}`);
    this.db.prepare('DELETE FROM customers WHERE id = ?').run(id);
    return current;
  }

  sites(): Site[] {
    const rows = this.db.prepare('SELECT id, customer, name FROM sites ORDER BY id').all() as {
      id: string;
      customer: string;
      name: string | null;
    }[];
    return rows.map((r) => ({ id: r.id, customer: r.customer, ...(r.name !== null ? { name: r.name } : {}) }));
  }

  addSite(site: Site): Site {
    if (!this.exists(site.customer))
      throw new AppError(ErrorCode.REFERENCE_INVALID, `customer: no customer "${site.customer}"`);
    const result = this.db
      .prepare(
        `INSERT INTO sites (id, customer, name, source, created_at) VALUES (?, ?, ?, 'api', ?) ON CONFLICT(id) DO NOTHING`,
      )
      .run(site.id, site.customer, site.name ?? null, this.iso());
    if (result.changes === 0) throw new AppError(ErrorCode.DUPLICATE_KEY, `site "${site.id}" already exists`);
    return site;
  }

  removeSite(id: string): Site {
    const site = this.sites().find((s) => s.id === id);
    if (site === undefined) throw new AppError(ErrorCode.NOT_FOUND, `site "${id}" not found`);
    this.db.prepare('DELETE FROM sites WHERE id = ?').run(id);
    return site;
  }
}
