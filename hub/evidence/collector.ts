/**
 * Evidence collection per automatic ticket (SLA-11): when the hub opens or escalates one, ask the device's agent
 * for `collect-logs` (device archive + agent trace) and `diagnose` (service tests). An offline agent or a failed
 * command leaves a note on the ticket and the collection waits for the agent to come back (bus
 * `agent-presence` online): then the missing kinds are asked again (at most once per return, at most
 * MAX_COLLECTION_ATTEMPTS in all) and incomplete transfers are resumed (`resumeFrom: {transferId: nextSeq}`).
 * Finished transfers are acknowledged to the agent (`resumeFrom: {transferId: total}`) so it drops its copy.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Command, CommandKind, CommandReply } from '../../protocols/messages.ts';
import type { HubContext } from '../context.ts';
import { nextMissingSeq, type TransferAssembler } from './assembler.ts';
import { redactEvidenceText } from './redaction.ts';
import type { CollectionRow, CommandPurpose, EvidenceStore } from './store.ts';
import { isWhollyReceived } from './unstored-attachments.ts';

export const EVIDENCE_ACTOR = 'hezo-evidence';
export const MAX_COLLECTION_ATTEMPTS = 3;
const KINDS: readonly CommandKind[] = ['collect-logs', 'diagnose'];
const LABEL: Record<string, string> = {
  'collect-logs': 'device logs and agent trace',
  diagnose: 'service tests',
  'poll-now': 'a poll',
};

interface Target {
  site: string;
  agentId: string;
}

/** What the agent says about the device archive in its `collect-logs` reply. */
export interface LogsInfo {
  source: string | null;
  cached: boolean;
  capturedAt?: string;
  freshError?: string;
}

interface CommandOutcome {
  kind: CommandKind;
  ok: boolean;
  /** The agent went away or did not answer in time: ask again when it is back. */
  isRetryable: boolean;
  why?: string;
}

export interface CollectorDeps {
  ctx: HubContext;
  store: EvidenceStore;
  assembler: TransferAssembler;
  logger: Logger;
  knownSecrets: readonly string[];
  note(ticketId: string, text: string): void;
  /** Every command of the ticket answered and every transfer finished: time to summarise. */
  settled(ticketId: string): Promise<void>;
}

export class EvidenceCollector {
  private readonly deps: CollectorDeps;
  private readonly log: Logger;
  private readonly inflight = new Map<string, number>();
  private readonly agentSites = new Map<string, string>();

  constructor(deps: CollectorDeps) {
    this.deps = deps;
    this.log = deps.logger;
  }

  private now(): string {
    return new Date(this.deps.ctx.clock.now()).toISOString();
  }

  private newId(): string {
    return `ev-${randomBytes(9).toString('hex')}`;
  }

  isBusy(ticketId: string): boolean {
    return (this.inflight.get(ticketId) ?? 0) > 0;
  }

  private busy(ticketIds: Iterable<string>, delta: number): void {
    for (const id of ticketIds) {
      const n = (this.inflight.get(id) ?? 0) + delta;
      if (n <= 0) this.inflight.delete(id);
      else this.inflight.set(id, n);
    }
  }

  rememberAgent(agentId: string, site: string): void {
    this.agentSites.set(agentId, site);
  }

  /** The agent watching a device: the command router's view, else the device directory's. */
  resolveAgent(serial: string): Target | undefined {
    const commands = this.deps.ctx.services.commands;
    const direct = commands?.agentFor(serial);
    if (direct !== undefined) return direct;
    const agentId = this.deps.ctx.services.devices?.get(serial)?.agentId ?? undefined;
    const site = agentId === undefined ? undefined : this.agentSites.get(agentId);
    return agentId !== undefined && site !== undefined ? { agentId, site } : undefined;
  }

  /** A new round for a ticket that was opened or escalated. */
  async startRound(ticketId: string, serial: string): Promise<void> {
    const previous = await this.deps.store.collection(ticketId);
    const at = this.now();
    await this.deps.store.upsertCollection(
      {
        ticketId,
        serial,
        state: 'waiting',
        attempts: 0,
        reason: null,
        roundAt: at,
        logsInfo: previous?.logsInfo ?? null,
      },
      at,
    );
    return this.collect(ticketId, serial, KINDS);
  }

  private async wait(coll: CollectionRow, kinds: readonly CommandKind[], why: string): Promise<void> {
    const at = this.now();
    const isLast = coll.attempts >= MAX_COLLECTION_ATTEMPTS;
    await this.deps.store.upsertCollection({ ...coll, state: isLast ? 'gave-up' : 'waiting', reason: why }, at);
    const what = kinds.map((k) => LABEL[k] ?? k).join(' and ');
    const next = isLast
      ? `giving up after ${coll.attempts} attempts`
      : `will retry when the agent is back (attempt ${coll.attempts + 1} of ${MAX_COLLECTION_ATTEMPTS} next)`;
    this.deps.note(coll.ticketId, `EVIDENCE_NOT_COLLECTED: ${what} for ${coll.serial}: ${why}; ${next}`);
    this.log.warn({ ticketId: coll.ticketId, serial: coll.serial, kinds, why }, 'evidence not collected');
  }

  /** Ask the agent for `kinds` now, or note why not and wait for the agent. */
  async collect(ticketId: string, serial: string, kinds: readonly CommandKind[]): Promise<void> {
    const coll = await this.deps.store.collection(ticketId);
    if (coll === undefined || kinds.length === 0) return;
    const commands = this.deps.ctx.services.commands;
    const target = this.resolveAgent(serial);
    if (commands === undefined || target === undefined) {
      await this.wait(coll, kinds, `no agent is known to watch ${serial}`);
      return;
    }
    if (!commands.isOnline(target.agentId)) {
      await this.wait(coll, kinds, `agent ${target.agentId} is offline`);
      return;
    }
    const attempt = { ...coll, state: 'collecting' as const, attempts: coll.attempts + 1, reason: null };
    await this.deps.store.upsertCollection(attempt, this.now());
    this.log.info(
      { ticketId, serial, agentId: target.agentId, kinds, attempt: attempt.attempts },
      'collecting evidence',
    );
    this.busy([ticketId], 1);
    let outcomes: CommandOutcome[];
    try {
      outcomes = await Promise.all(kinds.map((kind) => this.run(ticketId, serial, target, kind)));
    } finally {
      this.busy([ticketId], -1);
    }
    const retry = outcomes.filter((o) => !o.ok && o.isRetryable);
    for (const o of outcomes.filter((x) => !x.ok && !x.isRetryable)) {
      this.deps.note(
        ticketId,
        `EVIDENCE_NOT_COLLECTED: ${LABEL[o.kind] ?? o.kind} for ${serial}: ${o.why ?? 'failed'}`,
      );
    }
    const current = (await this.deps.store.collection(ticketId)) ?? attempt;
    if (retry.length > 0) {
      await this.wait(
        current,
        retry.map((o) => o.kind),
        retry.map((o) => o.why).join('; '),
      );
    } else {
      await this.deps.store.upsertCollection({ ...current, state: 'done', reason: null }, this.now());
    }
    await this.deps.settled(ticketId);
  }

  private async send(
    target: Target,
    command: Command,
    purpose: CommandPurpose,
  ): Promise<{ reply?: CommandReply; error?: string }> {
    const commands = this.deps.ctx.services.commands;
    await this.deps.store.insertCommand({
      commandId: command.id,
      ticketId: command.ticketId ?? null,
      serial: command.serial,
      site: target.site,
      agentId: target.agentId,
      kind: command.kind,
      purpose,
      status: 'sent',
      detail: null,
      issuedAt: command.issuedAt,
    });
    try {
      if (commands === undefined) throw new Error('no command channel');
      const reply = await commands.send(target, command);
      await this.deps.store.setCommandStatus(
        command.id,
        reply.ok ? 'replied' : 'failed',
        reply.ok ? null : `${reply.code}: ${reply.error}`.slice(0, 1000),
      );
      return { reply };
    } catch (err) {
      const error = redactEvidenceText((err as Error).message ?? String(err), this.deps.knownSecrets);
      await this.deps.store.setCommandStatus(command.id, 'failed', error.slice(0, 1000));
      return { error };
    }
  }

  private command(kind: CommandKind, serial: string, extra: Partial<Command>): Command {
    return {
      v: 1,
      id: this.newId(),
      kind,
      serial,
      issuedAt: this.now(),
      timeoutMs: this.deps.ctx.config.attachments.collectTimeoutMs,
      ...extra,
    };
  }

  private async run(ticketId: string, serial: string, target: Target, kind: CommandKind): Promise<CommandOutcome> {
    const command = this.command(kind, serial, { ticketId });
    const { reply, error } = await this.send(target, command, 'collect');
    if (reply === undefined) return { kind, ok: false, isRetryable: true, why: error ?? 'no reply' };
    if (!reply.ok) {
      const why = redactEvidenceText(`${reply.code}: ${reply.error}`, this.deps.knownSecrets);
      return { kind, ok: false, isRetryable: reply.code === 'COMMAND_TIMEOUT', why };
    }
    if (kind === 'collect-logs') await this.recordLogsInfo(ticketId, serial, reply.data.logs);
    // Chunks come before the reply: once they are handled, anything still missing is asked again now.
    const listed = Array.isArray(reply.data.attachments) ? (reply.data.attachments as { transferId?: unknown }[]) : [];
    const ids = listed.map((a) => a.transferId).filter((id): id is string => typeof id === 'string');
    await this.deps.assembler.drain(ids);
    const missing: Record<string, number> = {};
    for (const id of ids) {
      const row = await this.deps.store.transfer(id);
      if (row === undefined) missing[id] = 0;
      // a whole transfer still receiving failed to store: retried from its temp file, the agent keeps its copy
      else if (row.state === 'receiving' && !isWhollyReceived(row)) missing[id] = nextMissingSeq(row);
    }
    if (Object.keys(missing).length > 0) await this.resume(target, serial, missing, [ticketId]);
    return { kind, ok: true, isRetryable: false };
  }

  private async recordLogsInfo(ticketId: string, serial: string, raw: unknown): Promise<void> {
    if (typeof raw !== 'object' || raw === null) return;
    const r = raw as Record<string, unknown>;
    const info: LogsInfo = { source: typeof r.source === 'string' ? r.source : null, cached: r.cached === true };
    if (typeof r.capturedAt === 'string') info.capturedAt = r.capturedAt;
    if (typeof r.freshError === 'string') info.freshError = redactEvidenceText(r.freshError, this.deps.knownSecrets);
    const coll = await this.deps.store.collection(ticketId);
    if (coll !== undefined)
      await this.deps.store.upsertCollection({ ...coll, logsInfo: JSON.stringify(info) }, this.now());
    if (info.cached) {
      this.deps.note(
        ticketId,
        `device logs: ${serial} did not answer now (${info.freshError ?? 'no reason given'}); the agent's cached archive captured at ${info.capturedAt ?? 'an unknown time'} is attached`,
      );
    } else if (info.source === null) {
      this.deps.note(
        ticketId,
        `device logs: none for ${serial} (${info.freshError ?? 'no reason given'}; the agent has no cached archive)`,
      );
    }
  }

  /** Resume (seq < total) or acknowledge (seq >= total) transfers of one device on its agent. */
  async resume(
    target: Target,
    serial: string,
    from: Record<string, number>,
    ticketIds: readonly string[],
  ): Promise<void> {
    const command = this.command('collect-logs', serial, { resumeFrom: from });
    this.busy(ticketIds, 1);
    try {
      const { reply, error } = await this.send(target, command, 'resume');
      if (reply === undefined || !reply.ok) {
        const why = reply === undefined ? error : `${reply.code}: ${reply.error}`;
        this.log.warn({ agentId: target.agentId, serial, why }, 'resume failed');
        return;
      }
      const acked: string[] = [];
      for (const [id, seq] of Object.entries(from)) {
        if (seq >= ((await this.deps.store.transfer(id))?.total ?? Number.POSITIVE_INFINITY)) acked.push(id);
      }
      const data = reply.data as { missing?: unknown; acknowledged?: unknown };
      const missing = Array.isArray(data.missing) ? data.missing.filter((m): m is string => typeof m === 'string') : [];
      // Acknowledged ones are deleted on the agent; missing ones it never had (or already dropped).
      await this.deps.store.markAcked([...acked, ...missing]);
      for (const id of missing) {
        const row = await this.deps.store.transfer(id);
        if (row?.state !== 'receiving') continue;
        await this.deps.store.finish(id, { state: 'rejected', reason: 'lost by the agent' }, this.now());
        this.deps.note(
          row.ticketId,
          `EVIDENCE_INCOMPLETE: ${row.name} (transfer ${id}) was discarded by agent ${row.agentId} before it arrived; not attached`,
        );
      }
      await this.deps.assembler.drain(Object.keys(from));
    } finally {
      this.busy(ticketIds, -1);
    }
  }

  /** Which kinds of the ticket's current round have neither a reply nor a transfer under way. */
  async missingKinds(coll: CollectionRow): Promise<CommandKind[]> {
    const commands = (await this.deps.store.commandsOf(coll.ticketId)).filter(
      (c) => c.purpose === 'collect' && c.issuedAt >= coll.roundAt,
    );
    const transfers = new Set((await this.deps.store.transfersOf(coll.ticketId)).map((t) => t.commandId));
    return KINDS.filter((kind) => {
      const mine = commands.filter((c) => c.kind === kind);
      return !mine.some((c) => c.status === 'replied' || transfers.has(c.commandId));
    });
  }

  /** Store a whole transfer again; when its temp file was gone (another node received it), ask the agent to resend. */
  private async storeAgain(target: Target, transferId: string): Promise<void> {
    await this.deps.assembler.retryStore(transferId);
    const row = await this.deps.store.transfer(transferId);
    if (row?.state !== 'receiving' || isWhollyReceived(row)) return;
    await this.resume(target, row.serial, { [transferId]: nextMissingSeq(row) }, [row.ticketId]);
    await this.deps.settled(row.ticketId);
  }

  /** An agent is (back) online: resume its transfers, acknowledge finished ones, retry waiting collections. */
  async agentReturned(agentId: string, site: string): Promise<void> {
    this.rememberAgent(agentId, site);
    const target = { agentId, site };
    const bySerial = new Map<string, { from: Record<string, number>; tickets: Set<string> }>();
    const add = (serial: string, transferId: string, seq: number, ticketId: string) => {
      const entry = bySerial.get(serial) ?? { from: {}, tickets: new Set<string>() };
      entry.from[transferId] = seq;
      entry.tickets.add(ticketId);
      bySerial.set(serial, entry);
    };
    const stores: Promise<void>[] = [];
    for (const row of await this.deps.store.transfersInState('receiving')) {
      if (row.agentId !== agentId || row.site !== site) continue;
      if (isWhollyReceived(row)) stores.push(this.storeAgain(target, row.transferId));
      else add(row.serial, row.transferId, nextMissingSeq(row), row.ticketId);
    }
    for (const row of await this.deps.store.unacked(agentId)) add(row.serial, row.transferId, row.total, row.ticketId);
    for (const [serial, e] of bySerial) {
      const receiving: [string, number][] = [];
      for (const [id, seq] of Object.entries(e.from)) {
        if ((await this.deps.store.transfer(id))?.state === 'receiving') receiving.push([id, seq]);
      }
      if (receiving.length > 0)
        this.log.info({ agentId, serial, resumeFrom: Object.fromEntries(receiving) }, 'resuming transfers');
    }
    // started together, before the retries below: resume() marks its tickets busy at once
    const resumes = [...bySerial].map(([serial, e]) => this.resume(target, serial, e.from, [...e.tickets]));
    const retries: Promise<void>[] = [];
    for (const coll of await this.deps.store.collectionsIn('waiting')) {
      if (this.isBusy(coll.ticketId)) continue;
      const owner = this.resolveAgent(coll.serial);
      if (owner?.agentId !== agentId) continue;
      const kinds = await this.missingKinds(coll);
      if (kinds.length === 0) {
        await this.deps.store.upsertCollection({ ...coll, state: 'done', reason: null }, this.now());
        continue;
      }
      retries.push(this.collect(coll.ticketId, coll.serial, kinds));
    }
    await Promise.all([...stores, ...resumes, ...retries]);
    for (const e of bySerial.values()) for (const ticketId of e.tickets) await this.deps.settled(ticketId);
  }
}
