/**
 * A real hub (embedded aedes, fastify, SQLite in a temp data folder) with the tickets and evidence modules,
 * its pino output captured as text (to check that no secret is logged), restartable on the same data folder
 * and MQTT port (for resume tests). `options.sql` puts the evidence module on another SqlStore (a PostgreSQL of
 * test/helpers/sql-stores.ts) while the rest of the hub stays on its SQLite file; the caller closes that store.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { TicketService } from '../../hub/context.ts';
import { createEvidenceModule, type EvidenceModule } from '../../hub/evidence/module.ts';
import { createHub, type Hub, type HubUrls } from '../../hub/hub.ts';
import { createPeripheralsModule } from '../../hub/peripherals/module.ts';
import type { SqlStore } from '../../hub/store/sql-store.ts';
import { createTicketsModule } from '../../hub/tickets/module.ts';
import type { TicketView } from '../../hub/types.ts';
import { makeHubConfig, TEST_ADMIN_TOKEN, TEST_AGENTS } from './hub-fixture.ts';

export const EVIDENCE_AGENT = TEST_AGENTS[0];

export interface EvidenceHub {
  hub: Hub;
  urls: HubUrls;
  dataDir: string;
  evidence: EvidenceModule;
  tickets: TicketService;
  /** Everything the hub logged (NDJSON), all runs. */
  logText(): string;
  api(path: string): Promise<Response>;
  /** Open (or escalate) the automatic ticket of a device, as the detector would. */
  openAuto(serial: string, state?: 'down' | 'degraded'): Promise<TicketView>;
  /** Stop, then start again on the same data folder and MQTT port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startEvidenceHub(
  config: Record<string, unknown> = {},
  options: { sql?: SqlStore } = {},
): Promise<EvidenceHub> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hezo-evidence-'));
  let log = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      log += chunk.toString();
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  let mqttPort = 0;
  let evidence!: EvidenceModule;
  let hub!: Hub;
  let urls!: HubUrls;
  let isRunning = false;
  const boot = async () => {
    const cfg = makeHubConfig({ ...config, mqtt: { host: '127.0.0.1', port: mqttPort } }, dataDir);
    hub = createHub(cfg, {
      logger,
      modules: [
        createTicketsModule,
        (ctx) => {
          evidence = createEvidenceModule(options.sql === undefined ? ctx : { ...ctx, sql: options.sql });
          return evidence;
        },
        createPeripheralsModule,
      ],
    });
    urls = await hub.start();
    mqttPort = Number(new URL(urls.mqttUrl).port);
    isRunning = true;
  };
  await boot();
  const self: EvidenceHub = {
    get hub() {
      return hub;
    },
    get urls() {
      return urls;
    },
    get evidence() {
      return evidence;
    },
    get tickets() {
      return hub.ctx.services.ticketService!;
    },
    dataDir,
    logText: () => log,
    api: (path) => fetch(`${urls.httpUrl}${path}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } }),
    async openAuto(serial, state = 'degraded') {
      const { ticket } = await hub.ctx.services.ticketService!.openAuto({
        serial,
        state,
        reason: state === 'down' ? 'all-channels-failed' : 'component-failed',
        evidence: ['test'],
        site: EVIDENCE_AGENT.site,
        customer: 'acme',
      });
      return ticket;
    },
    async restart() {
      await self.stop();
      await boot();
    },
    async stop() {
      if (!isRunning) return;
      isRunning = false;
      await hub.stop();
    },
    async close() {
      await self.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}
