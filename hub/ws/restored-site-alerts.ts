/**
 * After a restart the live stream's snapshot shows the site alerts that are still raised (issue 19: a restart
 * used to drop them from the NOC page). Only `site-network-down` ones: the outage module stores and restores
 * those, so they are cleared when resolved; other kinds are re-raised by the detector when still true.
 * Read from the tickets module's `site_alerts` history (newest row per site and agent) in the store the tickets live
 * in (`ctx.sql`: PostgreSQL with `database.url`, issue 16); none without it.
 */
import type { SqlStore } from '../store/sql-store.ts';
import type { SiteAlert } from '../types.ts';

export async function raisedSiteAlerts(sql: SqlStore | undefined): Promise<SiteAlert[]> {
  try {
    if (sql === undefined) return [];
    const rows = await sql.query<{ site: string; agent_id: string; at: string; reason: string; serials: string }>(
      `SELECT s.* FROM site_alerts s
       JOIN (SELECT site, agent_id, MAX(id) AS id FROM site_alerts GROUP BY site, agent_id) last ON last.id = s.id
       WHERE s.status = 'raised' AND s.reason = 'site-network-down'`,
    );
    return rows.map((r) => ({
      site: r.site,
      agentId: r.agent_id,
      status: 'raised',
      at: r.at,
      reason: r.reason,
      serials: JSON.parse(r.serials) as string[],
    }));
  } catch {
    return []; // no tickets module (no site_alerts table)
  }
}
