/**
 * Commands from the hub on the agent's `cmd` topic, answered on `reply` with the same id:
 * `poll-now`, `diagnose` (service tests -> `service-tests.json`), `collect-logs` (device archive, fresh or
 * cached, plus `agent-trace.json`). A command carrying `resumeFrom` resumes (or, with seq >= total,
 * acknowledges and deletes) earlier transfers instead of running again.
 */

import type { Logger } from 'pino';
import type { Clock } from '../protocols/clock.ts';
import { isAppError } from '../protocols/errors.ts';
import type { HealthRecord } from '../protocols/health.ts';
import type { Command, CommandReply } from '../protocols/messages.ts';
import { redactText } from '../protocols/redact.ts';
import { decodeChecked, encodeChecked } from '../protocols/wire.ts';
import type { TransferMeta, TransferStore } from './attachments.ts';
import type { CertTrustStore } from './cert-trust.ts';
import type { DevicePoller } from './device-poller.ts';
import { runServiceTests } from './diagnose.ts';
import type { IdentityStore } from './identity-trust.ts';
import type { LogCache } from './log-cache.ts';
import { RebootFailed, rebootDevice } from './reboot.ts';

export interface CommandContext {
  pollers: ReadonlyMap<string, DevicePoller>;
  certs: CertTrustStore;
  hostKeys: IdentityStore;
  logCache: LogCache;
  transfers: TransferStore;
  clock: Clock;
  logger: Logger;
  secrets: readonly string[];
  requestTimeoutMs: number;
  /** Publish a QoS 1 message on the agent's reply / attachment topics. */
  publishReply: (payload: string) => Promise<void>;
  publishAttachment: (payload: string) => Promise<void>;
  pollNow: (serial: string) => Promise<HealthRecord | undefined>;
  /** The last health records of a device, newest last. */
  trace: (serial: string) => readonly HealthRecord[];
  progress: (task: string, done: number, total: number) => void;
}

class CommandError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, clock: Clock): Promise<T> {
  let cancel: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    cancel = clock.setTimer(ms, () =>
      reject(new CommandError('COMMAND_TIMEOUT', `command did not finish within ${ms} ms`)),
    );
  });
  return Promise.race([promise, timeout]).finally(() => cancel?.());
}

function describe(meta: TransferMeta) {
  const out: Record<string, unknown> = {
    transferId: meta.transferId,
    name: meta.name,
    kind: meta.kind,
    size: meta.size,
    sha256: meta.sha256,
    total: meta.total,
  };
  if (meta.capturedAt) out.capturedAt = meta.capturedAt;
  return out;
}

export class CommandHandler {
  private readonly ctx: CommandContext;

  constructor(ctx: CommandContext) {
    this.ctx = ctx;
  }

  /** Handle one raw `cmd` payload. Never throws: bad input is logged and answered when it has an id. */
  async handle(payload: Buffer): Promise<void> {
    let command: Command;
    try {
      command = decodeChecked('cmd', payload);
    } catch (err) {
      this.ctx.logger.warn({ err: { message: (err as Error).message } }, 'command rejected');
      const id = /"id"\s*:\s*"([A-Za-z0-9_-]{6,64})"/.exec(payload.toString('utf8').slice(0, 4096))?.[1];
      if (id)
        await this.reply({
          v: 1,
          id,
          ok: false,
          code: 'PAYLOAD_INVALID',
          error: (err as Error).message.slice(0, 1000),
        });
      return;
    }
    let reply: CommandReply;
    try {
      const data = await withTimeout(this.run(command), command.timeoutMs, this.ctx.clock);
      reply = { v: 1, id: command.id, ok: true, data };
    } catch (err) {
      const code = err instanceof CommandError ? err.code : isAppError(err) ? err.code : 'INTERNAL';
      const message = redactText((err as Error).message ?? String(err), this.ctx.secrets).slice(0, 1000);
      this.ctx.logger.warn({ id: command.id, kind: command.kind, serial: command.serial, code }, 'command failed');
      reply = { v: 1, id: command.id, ok: false, code, error: message };
    }
    await this.reply(reply);
  }

  private async reboot(command: Command, poller: DevicePoller): Promise<Record<string, unknown>> {
    const { ctx } = this;
    try {
      const result = await rebootDevice(poller, command.reason ?? 'no reason given', {
        logger: ctx.logger,
        timeoutMs: ctx.requestTimeoutMs,
      });
      return { channel: result.channel, attempts: result.attempts };
    } catch (err) {
      if (err instanceof RebootFailed) throw new CommandError('REBOOT_FAILED', err.message);
      throw err;
    }
  }

  private async reply(reply: CommandReply): Promise<void> {
    try {
      await this.ctx.publishReply(encodeChecked('reply', reply));
    } catch (err) {
      this.ctx.logger.warn({ id: reply.id, err: { message: (err as Error).message } }, 'reply not sent');
    }
  }

  private async run(command: Command): Promise<Record<string, unknown>> {
    const { ctx } = this;
    await ctx.transfers.sweep(ctx.clock.now());
    if (command.resumeFrom && Object.keys(command.resumeFrom).length > 0) return this.resume(command);
    const poller = ctx.pollers.get(command.serial);
    if (!poller) throw new CommandError('UNKNOWN_SERIAL', `serial: this agent does not watch "${command.serial}"`);
    switch (command.kind) {
      case 'poll-now': {
        const record = await ctx.pollNow(command.serial);
        return {
          seq: record?.seq ?? null,
          reachability: record?.reachability ?? null,
          components: record?.components.length ?? 0,
        };
      }
      case 'diagnose':
        return this.diagnose(command, poller);
      case 'collect-logs':
        return this.collectLogs(command, poller);
      case 'accept-identity':
        return this.acceptIdentity(command, poller);
      case 'reboot':
        return this.reboot(command, poller);
    }
  }

  /** An admin accepted a new certificate / SSH host key: pin it for this device and channel from now on. */
  private acceptIdentity(command: Command, poller: DevicePoller): Record<string, unknown> {
    const identity = command.identity;
    if (!identity) throw new CommandError('PAYLOAD_INVALID', 'identity: expected {channel, fingerprint}, got nothing');
    const { channel, fingerprint } = identity;
    const valid =
      channel === 'rest'
        ? /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(fingerprint)
        : /^SHA256:[A-Za-z0-9+/]{43}$/.test(fingerprint);
    if (!valid) {
      const expected =
        channel === 'rest' ? 'a SHA-256 certificate fingerprint AA:BB:...' : 'an SSH fingerprint SHA256:...';
      throw new CommandError(
        'PAYLOAD_INVALID',
        `identity.fingerprint: expected ${expected}, got "${fingerprint.slice(0, 80)}"`,
      );
    }
    if (channel === 'rest' && poller.device.rest?.tls.mode !== 'tofu') {
      throw new CommandError(
        'UNSUPPORTED',
        `identity: rest.tls.mode is "${poller.device.rest?.tls.mode ?? 'not configured'}" in this agent's config for ${command.serial}; change it there`,
      );
    }
    const store = channel === 'rest' ? this.ctx.certs.store : this.ctx.hostKeys;
    const { previous } = store.accept(command.serial, fingerprint);
    this.ctx.logger.warn(
      { serial: command.serial, channel, fingerprint, previous },
      'device identity accepted by an admin',
    );
    return { channel, fingerprint, previous };
  }

  private async sendTransfer(meta: TransferMeta, fromSeq: number): Promise<void> {
    await this.ctx.transfers.send(meta, fromSeq, this.ctx.publishAttachment, (seq) =>
      this.ctx.progress(`upload ${meta.name} ${meta.serial}`, seq + 1, meta.total),
    );
  }

  private async resume(command: Command): Promise<Record<string, unknown>> {
    const resumed: Record<string, unknown>[] = [];
    const acknowledged: string[] = [];
    const missing: string[] = [];
    for (const [transferId, seq] of Object.entries(command.resumeFrom ?? {})) {
      const meta = await this.ctx.transfers.get(transferId);
      if (!meta) {
        missing.push(transferId);
        continue;
      }
      if (seq >= meta.total) {
        await this.ctx.transfers.remove(transferId);
        acknowledged.push(transferId);
        continue;
      }
      await this.sendTransfer(meta, seq);
      resumed.push({ ...describe(meta), fromSeq: seq });
    }
    return { resumed, acknowledged, missing };
  }

  private async diagnose(command: Command, poller: DevicePoller): Promise<Record<string, unknown>> {
    const { ctx } = this;
    const tests = await runServiceTests(poller, ctx.certs, ctx.requestTimeoutMs);
    const body = {
      serial: command.serial,
      at: new Date(ctx.clock.now()).toISOString(),
      commandId: command.id,
      ticketId: command.ticketId ?? null,
      tests,
    };
    const data = Buffer.from(redactText(`${JSON.stringify(body, null, 2)}\n`, ctx.secrets));
    const meta = await ctx.transfers.create(
      data,
      { commandId: command.id, serial: command.serial, name: 'service-tests.json', kind: 'service-tests' },
      ctx.clock.now(),
    );
    await this.sendTransfer(meta, 0);
    const failed = tests.filter((t) => !t.ok && !t.skipped);
    return {
      summary: `${tests.filter((t) => t.ok).length}/${tests.filter((t) => !t.skipped).length} service tests passed`,
      tests: tests.map((t) => ({
        name: t.name,
        ok: t.ok,
        latencyMs: t.latencyMs ?? null,
        skipped: t.skipped ?? null,
        error: t.error ?? null,
      })),
      failed: failed.map((t) => t.name),
      attachments: [describe(meta)],
    };
  }

  private async collectLogs(command: Command, poller: DevicePoller): Promise<Record<string, unknown>> {
    const { ctx } = this;
    const attachments: TransferMeta[] = [];
    let logsNote: Record<string, unknown>;
    let archive: Awaited<ReturnType<LogCache['cached']>>;
    try {
      archive = await ctx.logCache.collect(poller);
      logsNote = { source: archive.source, cached: false };
    } catch (err) {
      archive = await ctx.logCache.cached(command.serial);
      const reason = redactText((err as Error).message, ctx.secrets).slice(0, 300);
      logsNote = archive
        ? { source: archive.source, cached: true, capturedAt: archive.capturedAt, freshError: reason }
        : { source: null, cached: false, freshError: reason };
    }
    if (archive) {
      attachments.push(
        await ctx.transfers.create(
          archive.data,
          {
            commandId: command.id,
            serial: command.serial,
            name: archive.name,
            kind: 'device-logs',
            capturedAt: archive.capturedAt,
          },
          ctx.clock.now(),
        ),
      );
    }
    const records = ctx.trace(command.serial);
    const trace = {
      serial: command.serial,
      at: new Date(ctx.clock.now()).toISOString(),
      records,
      failedProbes: records.flatMap((r) =>
        Object.entries(r.reachability)
          .filter(([, p]) => p && !p.ok)
          .map(([channel, p]) => ({
            seq: r.seq,
            observedAt: r.observedAt,
            channel,
            error: p?.error ?? null,
            attempts: p?.attempts,
          })),
      ),
    };
    attachments.push(
      await ctx.transfers.create(
        Buffer.from(redactText(`${JSON.stringify(trace, null, 1)}\n`, ctx.secrets)),
        { commandId: command.id, serial: command.serial, name: 'agent-trace.json', kind: 'agent-trace' },
        ctx.clock.now(),
      ),
    );
    for (const meta of attachments) await this.sendTransfer(meta, 0);
    return { logs: logsNote, attachments: attachments.map(describe) };
  }
}
