/** The hub's change feed: LISTEN/NOTIFY with `database.url` (PostgreSQL, several nodes), else none (one node). */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../../protocols/clock.ts';
import type { HubConfig } from '../config.ts';
import { hubNodeId } from '../node-id.ts';
import { type ChangeFeed, NO_CHANGE_FEED } from './change-feed.ts';
import { PgChangeFeed } from './change-feed-pg.ts';
import type { SqlStore } from './sql-store.ts';

export function openChangeFeed(
  config: Pick<HubConfig, 'database' | 'node'>,
  deps: { sql: SqlStore; clock: Clock; logger: Logger; metrics: Registry },
): ChangeFeed {
  const url = config.database?.url;
  if (url === undefined || deps.sql.dialect !== 'postgres') return NO_CHANGE_FEED;
  // the node id, plus this process: a restarted node must not take the old process's last words for its own
  const node = `${hubNodeId(config)}#${randomBytes(4).toString('hex')}`;
  return new PgChangeFeed({ url, node, ...deps });
}
