/**
 * Site incidents: one row per incident, its lifecycle (open -> acknowledged -> resolved) and its alerts. On the
 * SqlStore (issue 16): the same queries on the embedded SQLite file and on PostgreSQL, one migration list (version 1
 * is the table earlier hubs created through hub/db.ts). State changes are conditional UPDATEs, so two callers
 * (or two hub nodes) cannot both acknowledge or resolve the same incident.
 */
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import type { SqlStore } from '../store/sql-store.ts';

export type IncidentState = 'open' | 'acknowledged' | 'resolved';

export interface SiteIncident {
  id: string;
  site: string;
  customer: string | null;
  /** Agents whose site alerts belong to this incident. */
  agents: string[];
  /** Why (the site alerts' reasons, newest last). */
  reasons: string[];
  serials: string[];
  state: IncidentState;
  openedAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolution: string | null;
}

const COLUMNS = `site TEXT NOT NULL, customer TEXT, agents TEXT NOT NULL,
     reasons TEXT NOT NULL, serials TEXT NOT NULL, state TEXT NOT NULL, opened_at TEXT NOT NULL,
     acknowledged_at TEXT, acknowledged_by TEXT, resolved_at TEXT, resolution TEXT`;

export const INCIDENT_MIGRATIONS: readonly MigrationStep[] = [
  {
    sqlite: `CREATE TABLE site_incidents (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, ${COLUMNS});
   CREATE INDEX site_incidents_open ON site_incidents(site, state);`,
    postgres: `CREATE TABLE site_incidents (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ${COLUMNS});
   CREATE INDEX site_incidents_open ON site_incidents(site, state);`,
  },
];

interface Row extends Record<string, unknown> {
  /** PostgreSQL BIGINT comes back as a string. */
  seq: number | string;
  site: string;
  customer: string | null;
  agents: string;
  reasons: string;
  serials: string;
  state: IncidentState;
  opened_at: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolution: string | null;
}

const idOf = (seq: number) => `SI-${String(seq).padStart(6, '0')}`;
/** The row number of an id, or undefined when `id` is not one (never sent to the database). */
function seqOf(id: string): number | undefined {
  if (!/^SI-\d{6,}$/.test(id)) return undefined;
  const seq = Number(id.slice(3));
  return Number.isSafeInteger(seq) ? seq : undefined;
}

function view(row: Row): SiteIncident {
  return {
    id: idOf(Number(row.seq)),
    site: row.site,
    customer: row.customer,
    agents: JSON.parse(row.agents) as string[],
    reasons: JSON.parse(row.reasons) as string[],
    serials: JSON.parse(row.serials) as string[],
    state: row.state,
    openedAt: row.opened_at,
    acknowledgedAt: row.acknowledged_at,
    acknowledgedBy: row.acknowledged_by,
    resolvedAt: row.resolved_at,
    resolution: row.resolution,
  };
}

export class IncidentStore {
  private readonly sql: SqlStore;

  constructor(sql: SqlStore) {
    this.sql = sql;
  }

  async migrate(): Promise<void> {
    await runMigrations(this.sql, 'incidents', INCIDENT_MIGRATIONS);
  }

  /** The site's incident that is not resolved yet, if any. */
  async openFor(site: string): Promise<SiteIncident | undefined> {
    const rows = await this.sql.query<Row>(
      "SELECT * FROM site_incidents WHERE site = $1 AND state != 'resolved' ORDER BY seq DESC LIMIT 1",
      [site],
    );
    return rows[0] ? view(rows[0]) : undefined;
  }

  async get(id: string, sql: SqlStore = this.sql): Promise<SiteIncident | undefined> {
    const seq = seqOf(id);
    if (seq === undefined) return undefined;
    const rows = await sql.query<Row>('SELECT * FROM site_incidents WHERE seq = $1', [seq]);
    return rows[0] ? view(rows[0]) : undefined;
  }

  async mustGet(id: string, sql: SqlStore = this.sql): Promise<SiteIncident> {
    const found = await this.get(id, sql);
    if (!found) throw new AppError(ErrorCode.NOT_FOUND, `id: no site incident "${id}"`);
    return found;
  }

  async list(filter: { state: 'open' | 'all' }, limit: number): Promise<SiteIncident[]> {
    const rows = await this.sql.query<Row>(
      filter.state === 'open'
        ? "SELECT * FROM site_incidents WHERE state != 'resolved' ORDER BY seq DESC LIMIT $1"
        : 'SELECT * FROM site_incidents ORDER BY seq DESC LIMIT $1',
      [limit],
    );
    return rows.map(view);
  }

  async open(input: {
    site: string;
    customer: string | null;
    agent: string;
    reason: string;
    serials: string[];
    at: string;
  }): Promise<SiteIncident> {
    const rows = await this.sql.query<Row>(
      `INSERT INTO site_incidents (site, customer, agents, reasons, serials, state, opened_at)
       VALUES ($1, $2, $3, $4, $5, 'open', $6) RETURNING *`,
      [
        input.site,
        input.customer,
        JSON.stringify([input.agent]),
        JSON.stringify([input.reason]),
        JSON.stringify(input.serials),
        input.at,
      ],
    );
    return view(rows[0] as Row);
  }

  /** Another alert of the same site while the incident is not resolved: merged into it (read and write in one transaction). */
  merge(id: string, agent: string, reason: string, serials: string[]): Promise<SiteIncident> {
    return this.sql.transaction(async (tx) => {
      const cur = await this.mustGet(id, tx);
      const agents = [...new Set([...cur.agents, agent])];
      const reasons = [...cur.reasons, reason].slice(-20);
      const all = [...new Set([...cur.serials, ...serials])].slice(0, 5000);
      await tx.run('UPDATE site_incidents SET agents = $1, reasons = $2, serials = $3 WHERE seq = $4', [
        JSON.stringify(agents),
        JSON.stringify(reasons),
        JSON.stringify(all),
        seqOf(id) as number,
      ]);
      return this.mustGet(id, tx);
    });
  }

  async acknowledge(id: string, by: string, at: string): Promise<SiteIncident> {
    const seq = seqOf(id);
    const changed =
      seq === undefined
        ? 0
        : await this.sql.run(
            "UPDATE site_incidents SET state = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2 WHERE seq = $3 AND state = 'open'",
            [at, by, seq],
          );
    const cur = await this.mustGet(id);
    if (changed === 0) {
      throw new AppError(ErrorCode.TRANSITION_NOT_ALLOWED, `state: expected an open incident, ${id} is ${cur.state}`);
    }
    return cur;
  }

  async resolve(id: string, resolution: string, at: string): Promise<SiteIncident> {
    const seq = seqOf(id);
    const changed =
      seq === undefined
        ? 0
        : await this.sql.run(
            "UPDATE site_incidents SET state = 'resolved', resolved_at = $1, resolution = $2 WHERE seq = $3 AND state != 'resolved'",
            [at, resolution.slice(0, 2000), seq],
          );
    const cur = await this.mustGet(id);
    if (changed === 0) throw new AppError(ErrorCode.TRANSITION_NOT_ALLOWED, `state: ${id} is already resolved`);
    return cur;
  }
}
