/**
 * Customers and sites as the registry's own records: seeded from the config at every start (config entries
 * win, `source: config`), created, edited and removed through the API (`source: api`). The reference for every
 * referential check (a contract's, a device's, a user's customer must exist).
 *
 * On the SqlStore (issue 16; tables and queries in hub/registry/customers-repo.ts): answers come from an in-memory
 * view (the referential checks ask synchronously); writes run through the registry's write queue, each in a
 * transaction announcing it on the change feed (store `customers`, key `c:<id>` or `s:<id>`); the view then takes
 * the stored row. Another node's change reloads that key, the whole view after the feed reconnects.
 */
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { HubConfig } from '../config.ts';
import { type ChangeFeed, followChanges, NO_CHANGE_FEED } from '../store/change-feed.ts';
import { lockForTransaction } from '../store/registry-repo.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { type Customer, CustomerRepo, type Site } from './customers-repo.ts';
import { catchRefusal, Refused, refusedAfterCommit } from './refusal.ts';

export type { Customer, Site } from './customers-repo.ts';

export const CUSTOMERS_STORE = 'customers';
const customerKey = (id: string) => `c:${id}`;
const siteKey = (id: string) => `s:${id}`;
/** Code-unit order, as SQLite's ORDER BY id gave. */
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class CustomerDirectory {
  private readonly sql: SqlStore;
  private readonly now: () => number;
  private readonly feed: ChangeFeed;
  private readonly writes: SerialQueue;
  private readonly customers = new Map<string, Customer>();
  private readonly siteMap = new Map<string, Site>();

  constructor(
    sql: SqlStore,
    now: () => number,
    options: { feed?: ChangeFeed; writes?: SerialQueue; onWriteError?: (err: unknown) => void } = {},
  ) {
    this.sql = sql;
    this.now = now;
    this.feed = options.feed ?? NO_CHANGE_FEED;
    this.writes = options.writes ?? new SerialQueue(options.onWriteError ?? (() => {}));
  }

  /** Tables, the config's customers (idempotent: several nodes may start together), then the view. */
  async start(config: Pick<HubConfig, 'customers'>): Promise<void> {
    await new CustomerRepo(this.sql).migrate();
    const at = this.iso();
    await this.sql.transaction(async (tx) => {
      await lockForTransaction(tx, 'customers.seed');
      const repo = new CustomerRepo(tx);
      for (const c of config.customers) await repo.upsertFromConfig(c, at);
      if (config.customers.length > 0) await this.feed.notify(CUSTOMERS_STORE, undefined, tx);
    });
    followChanges(this.feed, CUSTOMERS_STORE, this.writes, {
      one: (key) => this.reloadKey(key),
      all: () => this.reload(),
    });
    await this.reload();
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  exists(id: string): boolean {
    return this.customers.has(id);
  }

  get(id: string): Customer | undefined {
    return this.customers.get(id);
  }

  list(): Customer[] {
    return [...this.customers.values()].sort(byId);
  }

  sites(): Site[] {
    return [...this.siteMap.values()].sort(byId);
  }

  async add(customer: { id: string; name: string; contactEmail?: string | undefined }): Promise<Customer> {
    await this.write(customerKey(customer.id), async (repo) => {
      if (!(await repo.insert(customer, this.iso())))
        throw new AppError(ErrorCode.DUPLICATE_KEY, `customer "${customer.id}" already exists`);
    });
    return this.customers.get(customer.id)!;
  }

  async update(
    id: string,
    change: { name?: string | undefined; contactEmail?: string | null | undefined },
  ): Promise<Customer> {
    const notFound = () => new AppError(ErrorCode.NOT_FOUND, `customer "${id}" not found`);
    await this.write(customerKey(id), async (repo) => {
      const current = await repo.get(id);
      if (current === undefined) throw notFound();
      const email = change.contactEmail === undefined ? (current.contactEmail ?? null) : change.contactEmail;
      await repo.update(id, change.name ?? current.name, email, this.iso());
    });
    const updated = this.customers.get(id);
    if (updated === undefined) throw notFound(); // removed by another node at once
    return updated;
  }

  /** IN_USE while devices, contracts (`usedBy`, from the registry), sites or users still name it. */
  async remove(id: string, usedBy: string[]): Promise<Customer> {
    const notFound = () => new AppError(ErrorCode.NOT_FOUND, `customer "${id}" not found`);
    return this.write(customerKey(id), async (repo) => {
      const current = await repo.get(id);
      if (current === undefined) throw notFound();
      const uses = [...usedBy, ...(await repo.uses(id))];
      if (uses.length > 0) throw new AppError(ErrorCode.IN_USE, `customer "${id}" is still used by ${uses.join(', ')}`);
      await repo.delete(id);
      return current;
    });
  }

  async addSite(site: Site): Promise<Site> {
    const noCustomer = () => new AppError(ErrorCode.REFERENCE_INVALID, `customer: no customer "${site.customer}"`);
    if (!this.exists(site.customer)) throw noCustomer();
    await this.write(siteKey(site.id), async (repo) => {
      if ((await repo.get(site.customer)) === undefined) throw noCustomer(); // removed by another node meanwhile
      if (!(await repo.insertSite(site, this.iso())))
        throw new AppError(ErrorCode.DUPLICATE_KEY, `site "${site.id}" already exists`);
    });
    return site;
  }

  async removeSite(id: string): Promise<Site> {
    const notFound = () => new AppError(ErrorCode.NOT_FOUND, `site "${id}" not found`);
    const site = this.siteMap.get(id);
    if (site === undefined) throw notFound();
    await this.write(siteKey(id), async (repo) => {
      if (!(await repo.deleteSite(id))) throw notFound();
    });
    return site;
  }

  /** Everything from the store (start, a feed reconnect, after a bulk import). */
  async reload(): Promise<void> {
    const repo = new CustomerRepo(this.sql);
    const [customers, sites] = [await repo.list(), await repo.sites()];
    this.customers.clear();
    for (const c of customers) this.customers.set(c.id, c);
    this.siteMap.clear();
    for (const s of sites) this.siteMap.set(s.id, s);
  }

  /** One write through the queue, in a transaction with its feed notice; then the view takes the stored row. */
  private write<T>(key: string, fn: (repo: CustomerRepo) => Promise<T>): Promise<T> {
    return this.writes.run(async () => {
      try {
        return refusedAfterCommit(
          await this.sql.transaction(async (tx) => {
            const result = await catchRefusal(() => fn(new CustomerRepo(tx)));
            if (!(result instanceof Refused)) await this.feed.notify(CUSTOMERS_STORE, key, tx);
            return result;
          }),
        );
      } finally {
        await this.reloadKey(key).catch(() => {}); // a store that cannot be read: the write's own answer says so
      }
    });
  }

  private async reloadKey(key: string): Promise<void> {
    const repo = new CustomerRepo(this.sql);
    const id = key.slice(2);
    if (key.startsWith('c:')) {
      const customer = await repo.get(id);
      if (customer === undefined) this.customers.delete(id);
      else this.customers.set(id, customer);
    } else if (key.startsWith('s:')) {
      const site = await repo.site(id);
      if (site === undefined) this.siteMap.delete(id);
      else this.siteMap.set(id, site);
    } else await this.reload();
  }
}
