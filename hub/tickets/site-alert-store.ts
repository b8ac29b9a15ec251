/** Site alerts (agent offline, records stale) as recorded, for `GET /api/site-alerts` (on the SqlStore). */
import type { SqlStore } from '../store/sql-store.ts';
import type { SiteAlert } from '../types.ts';
import { num } from './store-schema.ts';
import type { StoredSiteAlert } from './store-types.ts';

/** The table is created by the tickets migrations (hub/tickets/store-schema.ts). */
export class SiteAlertStore {
  private readonly sql: SqlStore;

  constructor(sql: SqlStore) {
    this.sql = sql;
  }

  async insertSiteAlert(alert: SiteAlert): Promise<void> {
    await this.sql.run(
      'INSERT INTO site_alerts (site, agent_id, status, at, reason, serials) VALUES ($1, $2, $3, $4, $5, $6)',
      [alert.site, alert.agentId, alert.status, alert.at, alert.reason, JSON.stringify(alert.serials)],
    );
  }

  async siteAlerts(limit: number): Promise<StoredSiteAlert[]> {
    const rows = await this.sql.query<{
      id: number | string;
      site: string;
      agent_id: string;
      status: 'raised' | 'cleared';
      at: string;
      reason: string;
      serials: string;
    }>('SELECT * FROM site_alerts ORDER BY id DESC LIMIT $1', [limit]);
    return rows.map((r) => ({
      id: num(r.id),
      site: r.site,
      agentId: r.agent_id,
      status: r.status,
      at: r.at,
      reason: r.reason,
      serials: JSON.parse(r.serials) as string[],
    }));
  }
}
