/** This hub node's id: `node` from the config, else the host name (made a valid topic/client-id segment). */
import { hostname } from 'node:os';
import type { HubConfig } from './config.ts';

export function hubNodeId(config: Pick<HubConfig, 'node'>, host: string = hostname()): string {
  if (config.node !== undefined) return config.node;
  const cleaned = host.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (cleaned.length > 0 ? cleaned : 'hub').slice(0, 64);
}
