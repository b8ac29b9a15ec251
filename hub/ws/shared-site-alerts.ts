/**
 * On a store shared by several hub nodes (issue 16), the raised site-network-down alerts of EVERY node, for the live
 * stream's snapshot at start: the tickets module's `site_alerts` history (restored-site-alerts.ts) is still in this
 * node's own SQLite file and knows only this node's alerts. Read from the outage store's open alerts; later changes
 * arrive as `site-alert` (this node's) or `site-alert-followed` (another node's) events.
 */
import type { HubContext } from '../context.ts';
import { OutageStore } from '../outage/store.ts';
import type { SiteAlert } from '../types.ts';

export async function sharedRaisedSiteAlerts(ctx: Pick<HubContext, 'config' | 'sql' | 'logger'>): Promise<SiteAlert[]> {
  if (ctx.config.database?.url === undefined) return []; // one node: restored-site-alerts.ts has them all
  try {
    const open = await new OutageStore(ctx.sql, 1).openSiteAlerts();
    return open.map((a) => ({
      site: a.site,
      agentId: a.agentId,
      status: 'raised',
      at: a.at,
      reason: 'site-network-down',
      serials: a.serials,
    }));
  } catch (err) {
    ctx.logger.error({ err }, 'open site alerts not read from the shared store');
    return [];
  }
}
