/**
 * Agent credentials managed through the API (config-file agents stay as they are):
 * `GET /api/agents`, `POST /api/agents {id, site}` -> 201 with the password (shown once; stored as scrypt),
 * `POST /api/agents/:id/rotate` -> a new password, `DELETE /api/agents/:id`. The broker learns each change at once
 * (`ctx.services.agentAccounts`), so a new site's agent connects without a hub restart.
 * On the SqlStore (issue 16): the same queries on the embedded SQLite file and on PostgreSQL, one migration list
 * (version 1 is the table earlier hubs created through hub/db.ts); each change is one statement whose row count
 * decides (two admins creating the same id: one 201, one DUPLICATE_KEY).
 * Several nodes: each change is announced on the change feed (store `agents`, key = the id); another node's change
 * reloads that account into this node's broker (a full reload after the feed reconnects), so an agent created on
 * node A connects to node B, and one removed or rotated on A is refused by B, without a restart.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { parseOrThrow } from '../../protocols/validation.ts';
import { hashPassword } from '../broker/credentials.ts';
import { AgentCredential, type HubConfig } from '../config.ts';
import type { HubServices } from '../context.ts';
import { randomSecret } from '../people/passwords.ts';
import { type ChangeFeed, followChanges, NO_CHANGE_FEED } from '../store/change-feed.ts';
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { SqlStore } from '../store/sql-store.ts';

export const AGENT_MIGRATIONS: readonly MigrationStep[] = [
  `CREATE TABLE agents (
     id TEXT PRIMARY KEY, site TEXT NOT NULL, password_hash TEXT NOT NULL, created_at TEXT NOT NULL,
     rotated_at TEXT NOT NULL);`,
];

const NewAgent = z.strictObject({ id: AgentCredential.shape.id, site: AgentCredential.shape.site });
const IdParam = z.strictObject({ id: z.string().min(1).max(64) });

export interface AgentView {
  id: string;
  site: string;
  source: 'config' | 'api';
  createdAt?: string;
  rotatedAt?: string;
}

interface Row extends Record<string, unknown> {
  id: string;
  site: string;
  password_hash: string;
  created_at: string;
  rotated_at: string;
}

export class AgentAccounts {
  private readonly sql: SqlStore;
  private readonly config: Pick<HubConfig, 'agents'>;
  private readonly services: HubServices;
  private readonly now: () => number;
  private readonly feed: ChangeFeed;
  /** Other nodes' changes, reloaded one after another (a later reload of an id never lands before an earlier). */
  private readonly reloads: SerialQueue;
  /** Stored ids handed to the broker (a full reload drops those no longer stored). */
  private readonly handed = new Set<string>();

  constructor(
    sql: SqlStore,
    config: Pick<HubConfig, 'agents'>,
    services: HubServices,
    now: () => number,
    feed: ChangeFeed = NO_CHANGE_FEED,
    onReloadError: (err: unknown) => void = () => {},
  ) {
    this.sql = sql;
    this.config = config;
    this.services = services;
    this.now = now;
    this.feed = feed;
    this.reloads = new SerialQueue(onReloadError);
  }

  /** Create the table and hand every stored agent to the broker; follow the other nodes' changes from then on. */
  async start(): Promise<void> {
    await runMigrations(this.sql, 'agents', AGENT_MIGRATIONS);
    followChanges(this.feed, 'agents', this.reloads, { one: (id) => this.reload(id), all: () => this.reloadAll() });
    await this.reloadAll();
  }

  /** Settles when every reload asked so far has run. */
  idle(): Promise<void> {
    return this.reloads.idle();
  }

  private isInConfig(id: string): boolean {
    return this.config.agents.some((a) => a.id === id); // the config file wins
  }

  private hand(row: Row): void {
    this.services.agentAccounts?.set({ id: row.id, site: row.site, passwordHash: row.password_hash });
    this.handed.add(row.id);
  }

  private withdraw(id: string): void {
    this.services.agentAccounts?.delete(id);
    this.handed.delete(id);
  }

  private async reloadAll(): Promise<void> {
    const rows = (await this.rows()).filter((r) => !this.isInConfig(r.id));
    const stored = new Set(rows.map((r) => r.id));
    for (const id of [...this.handed]) if (!stored.has(id)) this.withdraw(id);
    for (const row of rows) this.hand(row);
  }

  private async reload(id: string): Promise<void> {
    if (this.isInConfig(id)) return;
    const [row] = await this.sql.query<Row>('SELECT * FROM agents WHERE id = $1', [id]);
    if (row === undefined) this.withdraw(id);
    else this.hand(row);
  }

  private rows(): Promise<Row[]> {
    return this.sql.query<Row>('SELECT * FROM agents ORDER BY id');
  }

  async list(): Promise<AgentView[]> {
    const fromConfig: AgentView[] = this.config.agents.map((a) => ({ id: a.id, site: a.site, source: 'config' }));
    const stored: AgentView[] = (await this.rows())
      .filter((r) => !this.config.agents.some((a) => a.id === r.id))
      .map((r) => ({ id: r.id, site: r.site, source: 'api', createdAt: r.created_at, rotatedAt: r.rotated_at }));
    return [...fromConfig, ...stored];
  }

  async create(id: string, site: string): Promise<AgentView & { password: string }> {
    const duplicate = () => new AppError(ErrorCode.DUPLICATE_KEY, `agent "${id}" already exists`);
    if (this.config.agents.some((a) => a.id === id)) throw duplicate();
    const password = randomSecret(24);
    const passwordHash = hashPassword(password);
    const at = new Date(this.now()).toISOString();
    const inserted = await this.sql.run(
      `INSERT INTO agents (id, site, password_hash, created_at, rotated_at) VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (id) DO NOTHING`,
      [id, site, passwordHash, at],
    );
    if (inserted === 0) throw duplicate();
    this.hand({ id, site, password_hash: passwordHash, created_at: at, rotated_at: at });
    await this.feed.notify('agents', id);
    return { id, site, source: 'api', createdAt: at, rotatedAt: at, password };
  }

  async rotate(id: string): Promise<AgentView & { password: string }> {
    const row = await this.stored(id);
    const password = randomSecret(24);
    const passwordHash = hashPassword(password);
    const at = new Date(this.now()).toISOString();
    const changed = await this.sql.run('UPDATE agents SET password_hash = $1, rotated_at = $2 WHERE id = $3', [
      passwordHash,
      at,
      id,
    ]);
    if (changed === 0) throw notFound(id); // removed meanwhile
    this.hand({ ...row, password_hash: passwordHash, rotated_at: at });
    await this.feed.notify('agents', id);
    return { id, site: row.site, source: 'api', createdAt: row.created_at, rotatedAt: at, password };
  }

  async remove(id: string): Promise<AgentView> {
    const row = await this.stored(id);
    const changed = await this.sql.run('DELETE FROM agents WHERE id = $1', [id]);
    if (changed === 0) throw notFound(id); // removed meanwhile
    this.withdraw(id);
    await this.feed.notify('agents', id);
    return { id, site: row.site, source: 'api' };
  }

  private async stored(id: string): Promise<Row> {
    if (this.config.agents.some((a) => a.id === id))
      throw new AppError(ErrorCode.IN_USE, `agent "${id}" is defined in the config file: change it there`);
    const [row] = await this.sql.query<Row>('SELECT * FROM agents WHERE id = $1', [id]);
    if (row === undefined) throw notFound(id);
    return row;
  }
}

const notFound = (id: string) => new AppError(ErrorCode.NOT_FOUND, `agent "${id}" not found`);

export function registerAgentRoutes(
  http: FastifyInstance,
  deps: { agents: AgentAccounts; siteExists: (site: string) => boolean },
): void {
  const parse = <S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> =>
    parseOrThrow(schema, value ?? {}, ErrorCode.PAYLOAD_INVALID, where);
  http.get('/api/agents', { config: { access: 'internal' } }, async () => deps.agents.list());
  http.post(
    '/api/agents',
    {
      config: {
        access: 'admin',
        audit: { action: 'agent.add', kind: 'agent', id: 'body.id' },
        zod: { body: NewAgent },
      },
    },
    async (request, reply) => {
      const { id, site } = parse(NewAgent, request.body, 'body');
      if (!deps.siteExists(site)) throw new AppError(ErrorCode.REFERENCE_INVALID, `site: no site "${site}"`);
      return reply.code(201).send(await deps.agents.create(id, site));
    },
  );
  http.post(
    '/api/agents/:id/rotate',
    { config: { access: 'admin', audit: { action: 'agent.rotate', kind: 'agent', id: 'params.id' } } },
    async (request) => deps.agents.rotate(parse(IdParam, request.params, 'params').id),
  );
  http.delete(
    '/api/agents/:id',
    { config: { access: 'admin', audit: { action: 'agent.remove', kind: 'agent', id: 'params.id' } } },
    async (request, reply) => {
      await deps.agents.remove(parse(IdParam, request.params, 'params').id);
      return reply.code(204).send();
    },
  );
}
