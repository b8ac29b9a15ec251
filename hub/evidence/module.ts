/**
 * The evidence module (issue 7): every automatic ticket gets the device's logs, the agent's trace and fresh
 * service tests (SLA-11), collected over the command channel, reassembled, verified, redacted and stored
 * content-addressed in the hub's database (attachment-content.ts), listed on the ticket, downloadable at
 * `GET /api/tickets/:id/attachments/:name`, and summarised in one line on the ticket.
 *
 * Consumes bus `ticket` (auto: opened/escalated; phone/e-mail/portal for a monitored device: opened),
 * `attachment-chunk`, `agent-presence`;
 * emits `attachment-progress`. State lives in the hub's database through `ctx.sql` (`evidence_*` tables, SQLite or
 * PostgreSQL) so transfers survive restarts; only the chunks of a transfer still arriving are in a local temp file.
 */
import type { Logger } from 'pino';
import { dutiesOf } from '../cluster/partition-duties.ts';
import type { HubContext, HubModule } from '../context.ts';
import { hubNodeId } from '../node-id.ts';
import { storageHealthOf } from '../storage/storage-health.ts';
import { TransferAssembler } from './assembler.ts';
import { AttachmentContent } from './attachment-content.ts';
import { EVIDENCE_ACTOR, EvidenceCollector, type LogsInfo } from './collector.ts';
import { startsEvidenceRound } from './evidence-trigger.ts';
import { startOwedRoundsSweeper } from './missed-rounds.ts';
import { archiveLines, hubKnownSecrets, redactEvidenceText } from './redaction.ts';
import { registerAttachmentRoute } from './routes.ts';
import { EvidenceStore, type TransferRow } from './store.ts';
import { watchStuckTransfers } from './stuck-transfers.ts';
import { type EvidenceInput, summariseEvidence } from './summary.ts';
import { UnstoredAttachments } from './unstored-attachments.ts';

export interface EvidenceModule extends HubModule {
  readonly store: EvidenceStore;
  /** The stored bytes of attachments. */
  readonly content: AttachmentContent;
  readonly assembler: TransferAssembler;
  readonly collector: EvidenceCollector;
  /** Resolves once every chunk received so far is handled (tests). */
  drain(): Promise<void>;
}

/** Longest wait at stop for running evidence tasks. */
const STOP_WAIT_MS = 5000;
/** A transfer with no new chunk between two looks this far apart is resumed (its agent online). */
const STUCK_CHECK_MS = 60_000;
/** After an agent comes online, the owed-rounds sweep runs once this much later (a reconnect wave: one sweep). */
const SWEEP_SOON_MS = 1_000;

function parseJson(bytes: Buffer | undefined): unknown {
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

export function createEvidenceModule(ctx: HubContext): EvidenceModule {
  const logger: Logger = ctx.logger.child({ component: 'evidence' });
  const duties = dutiesOf(ctx); // issue 16: automatic evidence requests only for sites this node holds
  const store = new EvidenceStore(ctx.sql, hubNodeId(ctx.config));
  const content = new AttachmentContent(ctx.sql, ctx.config.dataDir);
  const knownSecrets = hubKnownSecrets(ctx.config);
  const tickets = () => ctx.services.ticketService;
  const offs: (() => void)[] = [];
  const background = new Set<Promise<unknown>>();

  const track = (promise: Promise<unknown>): void => {
    const p = promise.catch((err: unknown) => logger.error({ err }, 'evidence task failed'));
    background.add(p);
    void p.finally(() => background.delete(p));
  };

  const note = (ticketId: string, text: string): void => {
    // evidence notes are for engineers (a customer sees the ticket's steps, contacts and notes meant for them);
    // stored and announced in call order per ticket (the service's queue), not awaited here
    tickets()
      ?.addNote(ticketId, EVIDENCE_ACTOR, redactEvidenceText(text, knownSecrets), 'internal-note')
      .catch((err: unknown) => logger.warn({ err, ticketId }, 'evidence note not added'));
  };

  /** Newest stored transfer of each kind -> the summary's input. */
  async function summarise(ticketId: string): Promise<void> {
    const service = tickets();
    const ticket = await service?.get(ticketId);
    if (service === undefined || ticket === undefined) return;
    const stored = (await store.transfersOf(ticketId)).filter((t) => t.state === 'stored');
    const newest = (kind: TransferRow['kind']) => stored.filter((t) => t.kind === kind).at(-1);
    const bytesOf = async (row: TransferRow | undefined): Promise<Buffer | undefined> => {
      const meta = row?.storedName ? await service.attachment(ticketId, row.storedName) : undefined;
      return meta === undefined ? undefined : content.read(meta);
    };
    const coll = await store.collection(ticketId);
    const logsInfo = coll?.logsInfo ? (JSON.parse(coll.logsInfo) as LogsInfo) : undefined;
    const input: EvidenceInput = { timeZone: ctx.config.calendar.timeZone };
    const tests = parseJson(await bytesOf(newest('service-tests'))) as EvidenceInput['serviceTests'];
    if (tests !== undefined && Array.isArray(tests.tests)) input.serviceTests = tests;
    const trace = parseJson(await bytesOf(newest('agent-trace'))) as EvidenceInput['trace'];
    if (trace !== undefined && Array.isArray(trace.records)) input.trace = trace;
    const logsRow = newest('device-logs');
    const logsBytes = await bytesOf(logsRow);
    if (logsBytes !== undefined)
      input.logLines = await archiveLines(logsBytes, ctx.config.attachments.maxDecompressedBytes);
    if (logsRow !== undefined) {
      input.logs = { capturedAt: logsRow.capturedAt, cached: logsInfo?.cached === true };
    } else if (logsInfo !== undefined && logsInfo.source === null) {
      input.logs = { missing: logsInfo.freshError ?? 'the agent has no archive' };
    }
    if (input.serviceTests === undefined && input.trace === undefined && input.logs === undefined) return;
    const text = summariseEvidence(input);
    if (text !== ticket.summary) await service.setSummary(ticketId, text);
  }

  /** Acknowledge finished transfers of this ticket to their agents (so they drop their copies). */
  async function acknowledge(ticketId: string): Promise<void> {
    const commands = ctx.services.commands;
    const groups = new Map<string, { site: string; agentId: string; serial: string; from: Record<string, number> }>();
    for (const row of await store.transfersOf(ticketId)) {
      if (row.state === 'receiving' || row.isAcked || commands?.isOnline(row.agentId) !== true) continue;
      const key = `${row.site}/${row.agentId}/${row.serial}`;
      const g = groups.get(key) ?? { site: row.site, agentId: row.agentId, serial: row.serial, from: {} };
      g.from[row.transferId] = row.total;
      groups.set(key, g);
    }
    for (const g of groups.values()) {
      track(collector.resume({ site: g.site, agentId: g.agentId }, g.serial, g.from, []));
    }
  }

  async function settled(ticketId: string): Promise<void> {
    if (collector.isBusy(ticketId)) return;
    if ((await store.transfersOf(ticketId)).some((t) => t.state === 'receiving')) return;
    await acknowledge(ticketId);
    await summarise(ticketId);
  }

  const assembler = new TransferAssembler({
    store,
    content,
    unstored: new UnstoredAttachments(storageHealthOf(ctx)),
    config: ctx.config,
    clock: ctx.clock,
    logger,
    tickets,
    knownSecrets,
    note,
    progress: (p) => ctx.bus.emit('attachment-progress', p),
    finished: (row) => track(settled(row.ticketId)),
  });
  const collector = new EvidenceCollector({ ctx, store, assembler, logger, knownSecrets, note, settled });
  registerAttachmentRoute(ctx.http, { content, tickets });

  return {
    name: 'evidence',
    store,
    content,
    assembler,
    collector,
    async drain() {
      await assembler.drain();
      while (background.size > 0) await Promise.all([...background]);
      await assembler.drain();
    },
    async start() {
      await store.migrate();
      await content.migrate();
      if (ctx.sql.dialect === 'postgres') {
        // an earlier single-node hub's files, so every node can serve them (SQLite reads them where they are)
        track(
          content.importFiles(new Date(ctx.clock.now()).toISOString()).then((r) => {
            if (r.imported > 0 || r.mismatched.length > 0)
              logger.info(r, 'attachment files imported into the database');
          }),
        );
      }
      const interrupted = await store.interruptInFlight(new Date(ctx.clock.now()).toISOString());
      await assembler.init();
      const receiving = (await store.transfersInState('receiving')).length;
      if (interrupted > 0 || receiving > 0) {
        logger.info({ interrupted, receiving }, 'evidence collections and transfers waiting for their agents');
      }
      // what a node that died left undone: rounds never started, collections left collecting (missed-rounds.ts)
      const owedRounds = startOwedRoundsSweeper({
        orphaned: {
          othersStaleCollecting: (before) => store.othersStaleCollecting(before),
          takeOver: (row, at) => store.takeOverCollection(row, at),
          agentOf: (serial) => collector.resolveAgent(serial),
          holds: (site) => duties.holds(site),
          isOnline: (agentId) => ctx.services.commands?.isOnline(agentId) === true,
          askAgain: (agentId, site) => collector.agentReturned(agentId, site),
          now: () => ctx.clock.now(),
          staleAfterMs: 2 * ctx.config.attachments.collectTimeoutMs,
          logger,
        },
        missed: {
          openWithoutCollection: () => store.openTicketsWithoutCollection(),
          bootMs: ctx.clock.now(),
          now: () => ctx.clock.now(),
          holds: (site) => duties.holds(site),
          isMonitored: (serial) => collector.resolveAgent(serial) !== undefined,
          startRound: async (ticketId, serial) => {
            if ((await store.collection(ticketId)) === undefined) await collector.startRound(ticketId, serial);
          },
          logger,
        },
        clock: ctx.clock,
        everyMs: STUCK_CHECK_MS,
        soonMs: SWEEP_SOON_MS,
        track,
        logger,
      });
      offs.push(
        () => owedRounds.stop(),
        duties.onChange(({ isHeld }) => {
          if (isHeld) owedRounds.sweep();
        }),
        watchStuckTransfers({
          clock: ctx.clock,
          everyMs: STUCK_CHECK_MS,
          transfersReceiving: () => store.transfersInState('receiving'),
          isOnline: (agentId) => ctx.services.commands?.isOnline(agentId) === true,
          resume: (target, serial, from, tickets) =>
            duties.holds(target.site) ? collector.resume(target, serial, from, tickets) : Promise.resolve(),
          retryStore: (transferId) => assembler.retryStore(transferId),
          track,
        }),
        ctx.bus.on('ticket', ({ ticket, change }) => {
          const isMonitored = ticket.channel !== 'auto' && collector.resolveAgent(ticket.serial) !== undefined;
          if (!startsEvidenceRound(ticket, change, isMonitored)) return;
          if (ticket.channel === 'auto' && !duties.holds(ticket.site ?? '')) return; // a person's ticket: where made
          // After the other listeners have seen the change (the collection adds notes to the same ticket).
          queueMicrotask(() => track(collector.startRound(ticket.id, ticket.serial)));
        }),
        ctx.bus.on('attachment-chunk', (inbound) => {
          collector.rememberAgent(inbound.agentId, inbound.site);
          track(assembler.accept(inbound));
        }),
        ctx.bus.on('agent-presence', (event) => {
          collector.rememberAgent(event.agentId, event.site);
          if (event.status !== 'online' || !duties.holds(event.site)) return;
          // The command router marks the agent online in its own listener of this same event: run after it.
          queueMicrotask(() => track(collector.agentReturned(event.agentId, event.site)));
          // an agent known again may be the one an orphaned collection waits for (one sweep for a wave of agents)
          owedRounds.soon();
        }),
      );
    },
    async stop() {
      for (const off of offs.splice(0)) off();
      // Pending commands were rejected when the broker stopped: let their tasks write their notes (bounded).
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STOP_WAIT_MS);
        timer.unref();
      });
      await Promise.race([Promise.all([assembler.drain(), ...background]), bound]);
      clearTimeout(timer);
    },
  };
}
