/** Site incidents in SQLite: one row per incident, its lifecycle (open -> acknowledged -> resolved) and its alerts. */
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { type Db, migrate } from '../db.ts';

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

const MIGRATIONS = [
  `CREATE TABLE site_incidents (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, customer TEXT, agents TEXT NOT NULL,
     reasons TEXT NOT NULL, serials TEXT NOT NULL, state TEXT NOT NULL, opened_at TEXT NOT NULL,
     acknowledged_at TEXT, acknowledged_by TEXT, resolved_at TEXT, resolution TEXT);
   CREATE INDEX site_incidents_open ON site_incidents(site, state);`,
];

interface Row {
  seq: number;
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
const seqOf = (id: string) => (/^SI-\d{6,}$/.test(id) ? Number(id.slice(3)) : Number.NaN);

function view(row: Row): SiteIncident {
  return {
    id: idOf(row.seq),
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
  constructor(private readonly db: Db) {
    migrate(db, 'incidents', MIGRATIONS);
  }

  /** The site's incident that is not resolved yet, if any. */
  openFor(site: string): SiteIncident | undefined {
    const row = this.db
      .prepare("SELECT * FROM site_incidents WHERE site = ? AND state != 'resolved' ORDER BY seq DESC LIMIT 1")
      .get(site) as Row | undefined;
    return row ? view(row) : undefined;
  }

  get(id: string): SiteIncident | undefined {
    const row = this.db.prepare('SELECT * FROM site_incidents WHERE seq = ?').get(seqOf(id)) as Row | undefined;
    return row ? view(row) : undefined;
  }

  mustGet(id: string): SiteIncident {
    const found = this.get(id);
    if (!found) throw new AppError(ErrorCode.NOT_FOUND, `id: no site incident "${id}"`);
    return found;
  }

  list(filter: { state: 'open' | 'all' }, limit: number): SiteIncident[] {
    const rows = (
      filter.state === 'open'
        ? this.db.prepare("SELECT * FROM site_incidents WHERE state != 'resolved' ORDER BY seq DESC LIMIT ?").all(limit)
        : this.db.prepare('SELECT * FROM site_incidents ORDER BY seq DESC LIMIT ?').all(limit)
    ) as Row[];
    return rows.map(view);
  }

  open(input: { site: string; customer: string | null; agent: string; reason: string; serials: string[]; at: string }) {
    const result = this.db
      .prepare(
        `INSERT INTO site_incidents (site, customer, agents, reasons, serials, state, opened_at)
         VALUES (?, ?, ?, ?, ?, 'open', ?)`,
      )
      .run(
        input.site,
        input.customer,
        JSON.stringify([input.agent]),
        JSON.stringify([input.reason]),
        JSON.stringify(input.serials),
        input.at,
      );
    return this.mustGet(idOf(Number(result.lastInsertRowid)));
  }

  /** Another alert of the same site while the incident is not resolved: merged into it. */
  merge(id: string, agent: string, reason: string, serials: string[]): SiteIncident {
    const cur = this.mustGet(id);
    const agents = [...new Set([...cur.agents, agent])];
    const reasons = [...cur.reasons, reason].slice(-20);
    const all = [...new Set([...cur.serials, ...serials])].slice(0, 5000);
    this.db
      .prepare('UPDATE site_incidents SET agents = ?, reasons = ?, serials = ? WHERE seq = ?')
      .run(JSON.stringify(agents), JSON.stringify(reasons), JSON.stringify(all), seqOf(id));
    return this.mustGet(id);
  }

  acknowledge(id: string, by: string, at: string): SiteIncident {
    const cur = this.mustGet(id);
    if (cur.state !== 'open') {
      throw new AppError(ErrorCode.TRANSITION_NOT_ALLOWED, `state: expected an open incident, ${id} is ${cur.state}`);
    }
    this.db
      .prepare(
        "UPDATE site_incidents SET state = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? WHERE seq = ?",
      )
      .run(at, by, seqOf(id));
    return this.mustGet(id);
  }

  resolve(id: string, resolution: string, at: string): SiteIncident {
    const cur = this.mustGet(id);
    if (cur.state === 'resolved') {
      throw new AppError(ErrorCode.TRANSITION_NOT_ALLOWED, `state: ${id} is already resolved`);
    }
    this.db
      .prepare("UPDATE site_incidents SET state = 'resolved', resolved_at = ?, resolution = ? WHERE seq = ?")
      .run(at, resolution.slice(0, 2000), seqOf(id));
    return this.mustGet(id);
  }
}
