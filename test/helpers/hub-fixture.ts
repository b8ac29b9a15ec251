/** A real hub (embedded aedes, fastify, SQLite) on loopback port 0, with a config built from overrides. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { HubConfig } from '../../hub/config.ts';
import type { HubModuleFactory } from '../../hub/context.ts';
import { createHub, type Hub, type HubUrls } from '../../hub/hub.ts';
import type { Clock } from '../../protocols/clock.ts';
import { buildConfig } from '../../protocols/config-common.ts';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
export const TEST_READ_TOKEN = 'test-read-token-0123456789ab';

export const TEST_AGENTS = [
  { id: 'agent-1', site: 'site-a', password: 'agent-1-secret' },
  { id: 'agent-2', site: 'site-b', password: 'agent-2-secret' },
] as const;

/** A valid hub config for tests (ports 0, loopback); `overrides` are merged one level deep. */
export function makeHubConfig(overrides: Record<string, unknown> = {}, dataDir = '/nonexistent'): HubConfig {
  const base: Record<string, unknown> = {
    version: 1,
    dataDir,
    logLevel: 'silent',
    http: { host: '127.0.0.1', port: 0 },
    api: { token: TEST_ADMIN_TOKEN, readTokens: [TEST_READ_TOKEN] },
    mqtt: { host: '127.0.0.1', port: 0 },
    agents: TEST_AGENTS.map((a) => ({ ...a })),
    // Most tests publish records of serials they never registered; the ownership tests set `pending`.
    adoption: { unknownDevices: 'register' },
  };
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = merged[key];
    merged[key] =
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      typeof current === 'object' &&
      current !== null &&
      !Array.isArray(current)
        ? { ...current, ...value }
        : value;
  }
  return buildConfig(HubConfig, merged) as HubConfig;
}

export interface TestHub {
  hub: Hub;
  urls: HubUrls;
  dataDir: string;
  /** fetch against the hub's HTTP API with the admin token (or `token: null` for none). */
  api(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startTestHub(
  options: {
    config?: Record<string, unknown>;
    clock?: Clock;
    /** Modules after the core: default none (the core alone); `'all'` = the hub's OPTIONAL_MODULES. */
    modules?: readonly HubModuleFactory[] | 'all';
    dataDir?: string;
  } = {},
): Promise<TestHub> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hezo-hub-'));
  const config = makeHubConfig(options.config, dataDir);
  const logger = pino({ level: process.env.HEZO_TEST_LOG ?? 'silent' });
  const hub = createHub(config, {
    logger,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.modules === 'all' ? {} : { modules: options.modules ?? [] }),
  });
  const urls = await hub.start();
  const api: TestHub['api'] = (path, init = {}) => {
    const { token = TEST_ADMIN_TOKEN, headers, ...rest } = init;
    const h = new Headers(headers);
    if (token !== null) h.set('authorization', `Bearer ${token}`);
    return fetch(`${urls.httpUrl}${path}`, { ...rest, headers: h });
  };
  return {
    hub,
    urls,
    dataDir,
    api,
    async metric(name, labels = {}) {
      return sumMetric(await (await api('/metrics')).text(), name, labels);
    },
    async close() {
      await hub.stop();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The sum of a metric's samples in Prometheus text format, over the series that carry every given label. */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
