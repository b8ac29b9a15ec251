/**
 * Agent credentials managed through the API (config-file agents stay as they are):
 * `GET /api/agents`, `POST /api/agents {id, site}` -> 201 with the password (shown once; stored as scrypt),
 * `POST /api/agents/:id/rotate` -> a new password, `DELETE /api/agents/:id`. The broker learns each change at once
 * (`ctx.services.agentAccounts`), so a new site's agent connects without a hub restart.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { parseOrThrow } from '../../protocols/validation.ts';
import { hashPassword } from '../broker/credentials.ts';
import { AgentCredential, type HubConfig } from '../config.ts';
import type { HubServices } from '../context.ts';
import { type Db, migrate } from '../db.ts';
import { randomSecret } from '../people/passwords.ts';

const MIGRATIONS = [
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

interface Row {
  id: string;
  site: string;
  password_hash: string;
  created_at: string;
  rotated_at: string;
}

export class AgentAccounts {
  private readonly db: Db;
  private readonly config: Pick<HubConfig, 'agents'>;
  private readonly services: HubServices;
  private readonly now: () => number;

  constructor(db: Db, config: Pick<HubConfig, 'agents'>, services: HubServices, now: () => number) {
    this.db = db;
    this.config = config;
    this.services = services;
    this.now = now;
  }

  /** Create the table and hand every stored agent to the broker. */
  start(): void {
    migrate(this.db, 'agents', MIGRATIONS);
    for (const row of this.rows()) {
      if (this.config.agents.some((a) => a.id === row.id)) continue; // the config file wins
      this.services.agentAccounts?.set({ id: row.id, site: row.site, passwordHash: row.password_hash });
    }
  }

  private rows(): Row[] {
    return this.db.prepare('SELECT * FROM agents ORDER BY id').all() as Row[];
  }

  list(): AgentView[] {
    const fromConfig: AgentView[] = this.config.agents.map((a) => ({ id: a.id, site: a.site, source: 'config' }));
    const stored: AgentView[] = this.rows()
      .filter((r) => !this.config.agents.some((a) => a.id === r.id))
      .map((r) => ({ id: r.id, site: r.site, source: 'api', createdAt: r.created_at, rotatedAt: r.rotated_at }));
    return [...fromConfig, ...stored];
  }

  create(id: string, site: string): AgentView & { password: string } {
    if (this.list().some((a) => a.id === id))
      throw new AppError(ErrorCode.DUPLICATE_KEY, `agent "${id}" already exists`);
    const password = randomSecret(24);
    const passwordHash = hashPassword(password);
    const at = new Date(this.now()).toISOString();
    this.db
      .prepare('INSERT INTO agents (id, site, password_hash, created_at, rotated_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, site, passwordHash, at, at);
    this.services.agentAccounts?.set({ id, site, passwordHash });
    return { id, site, source: 'api', createdAt: at, rotatedAt: at, password };
  }

  rotate(id: string): AgentView & { password: string } {
    const row = this.stored(id);
    const password = randomSecret(24);
    const passwordHash = hashPassword(password);
    const at = new Date(this.now()).toISOString();
    this.db.prepare('UPDATE agents SET password_hash = ?, rotated_at = ? WHERE id = ?').run(passwordHash, at, id);
    this.services.agentAccounts?.set({ id, site: row.site, passwordHash });
    return { id, site: row.site, source: 'api', createdAt: row.created_at, rotatedAt: at, password };
  }

  remove(id: string): AgentView {
    const row = this.stored(id);
    this.db.prepare('DELETE FROM agents WHERE id = ?').run(id);
    this.services.agentAccounts?.delete(id);
    return { id, site: row.site, source: 'api' };
  }

  private stored(id: string): Row {
    if (this.config.agents.some((a) => a.id === id))
      throw new AppError(ErrorCode.IN_USE, `agent "${id}" is defined in the config file: change it there`);
    const row = this.db.prepare('SELECT * FROM agents WHERE id = ?').get(id) as Row | undefined;
    if (row === undefined) throw new AppError(ErrorCode.NOT_FOUND, `agent "${id}" not found`);
    return row;
  }
}

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
      return reply.code(201).send(deps.agents.create(id, site));
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
      deps.agents.remove(parse(IdParam, request.params, 'params').id);
      return reply.code(204).send();
    },
  );
}
