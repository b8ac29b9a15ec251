/** A complete hub (default modules) in this process for the ingest scenarios, with a processed-message counter. */
import { join } from 'node:path';
import type { HubModuleFactory } from '../../hub/context.ts';
import { createHub, type Hub, type HubUrls } from '../../hub/hub.ts';
import { sumMetric } from '../../test/helpers/hub-fixture.ts';
import { API_TOKEN, type BenchAgent, benchHubConfig, silentLogger, tempDir } from './common.ts';

export interface BenchHub {
  hub: Hub;
  urls: HubUrls;
  dataDir: string;
  /** Health records that went through ingest + detector (bus `health`). */
  processed(): number;
  api(path: string, init?: RequestInit): Promise<Response>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startBenchHub(
  options: {
    agents?: readonly BenchAgent[];
    allowAnonymous?: boolean;
    extra?: Record<string, unknown>;
    /** Modules after the core; default the hub's OPTIONAL_MODULES. */
    modules?: readonly HubModuleFactory[];
  } = {},
): Promise<BenchHub> {
  const tmp = tempDir('hub');
  const { modules, ...rest } = options;
  const config = benchHubConfig({ dataDir: tmp.dir, ...rest });
  const hub = createHub(config, {
    logger: silentLogger(),
    dbFile: join(tmp.dir, 'hub.sqlite'),
    ...(modules !== undefined ? { modules } : {}),
  });
  const urls = await hub.start();
  let processed = 0;
  hub.ctx.bus.on('health', () => {
    processed += 1;
  });
  const api = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${API_TOKEN}`);
    return fetch(`${urls.httpUrl}${path}`, { ...init, headers });
  };
  return {
    hub,
    urls,
    dataDir: tmp.dir,
    processed: () => processed,
    api,
    async metric(name, labels = {}) {
      return sumMetric(await (await api('/metrics')).text(), name, labels);
    },
    async close() {
      await hub.stop();
      tmp.remove();
    },
  };
}
