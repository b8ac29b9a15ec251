/**
 * AgentCommands: publish a Command on `topics.command(site, agentId)` (QoS 1), keep it pending by correlation
 * id, resolve on the agent's reply, reject on timeout (COMMAND_TIMEOUT), or with AGENT_OFFLINE when the agent is or goes offline.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { type Command, type CommandReply, encodeMessage } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import type { AgentCommands } from '../context.ts';
import type { HubBus } from '../events.ts';

/** Extra time beyond the command's own timeout for the reply to travel back. */
const REPLY_MARGIN_MS = 5000;

interface Pending {
  site: string;
  agentId: string;
  resolve(reply: CommandReply): void;
  reject(err: Error): void;
  cancelTimer(): void;
}

export interface CommandsDeps {
  bus: HubBus;
  clock: Clock;
  logger: Logger;
  publish(topic: string, payload: string): Promise<void>;
  /** Commands about a device go only to an agent of its site (hub/registry/ownership.ts). */
  mayCommand?(site: string, serial: string): { ok: true } | { ok: false; detail: string };
}

export class CommandRouter implements AgentCommands {
  private readonly deps: CommandsDeps;
  private readonly pending = new Map<string, Pending>();
  private readonly online = new Map<string, boolean>();
  private readonly agentBySerial = new Map<string, { site: string; agentId: string }>();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly log: Logger;

  constructor(deps: CommandsDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ component: 'commands' });
  }

  /** Follow agent presence and which agent watches which device (from the bus). */
  start(): void {
    const { bus } = this.deps;
    this.unsubscribe.push(
      bus.on('agent-presence', (event) => {
        this.online.set(event.agentId, event.status === 'online');
        if (event.status === 'offline') this.rejectAgent(event.agentId, 'agent went offline');
      }),
      bus.on('ingest:health', ({ message, site, agentId }) => {
        if (message.replayed) return;
        const current = this.agentBySerial.get(message.identity.serial);
        if (current?.agentId !== agentId || current.site !== site) {
          this.agentBySerial.set(message.identity.serial, { site, agentId });
        }
      }),
    );
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    for (const id of [...this.pending.keys()])
      this.settle(id)?.reject(new AppError(ErrorCode.COMMAND_TIMEOUT, 'hub stopping'));
  }

  isOnline(agentId: string): boolean {
    return this.online.get(agentId) === true;
  }

  agentFor(serial: string): { site: string; agentId: string } | undefined {
    return this.agentBySerial.get(serial);
  }

  async send(target: { site: string; agentId: string }, command: Command): Promise<CommandReply> {
    const allowed = this.deps.mayCommand?.(target.site, command.serial);
    if (allowed !== undefined && !allowed.ok) {
      this.log.warn({ id: command.id, kind: command.kind, agentId: target.agentId, site: target.site }, allowed.detail);
      throw new AppError(ErrorCode.FORBIDDEN, `command ${command.id}: ${allowed.detail}`);
    }
    if (!this.isOnline(target.agentId)) {
      throw new AppError(ErrorCode.AGENT_OFFLINE, `command ${command.id}: agent ${target.agentId} is offline`);
    }
    if (this.pending.has(command.id)) {
      throw new AppError(ErrorCode.PAYLOAD_INVALID, `command ${command.id}: correlation id already pending`);
    }
    const payload = encodeMessage('cmd', command);
    const reply = new Promise<CommandReply>((resolve, reject) => {
      const cancelTimer = this.deps.clock.setTimer(command.timeoutMs + REPLY_MARGIN_MS, () => {
        this.settle(command.id)?.reject(
          new AppError(ErrorCode.COMMAND_TIMEOUT, `command ${command.id}: no reply within ${command.timeoutMs} ms`),
        );
      });
      this.pending.set(command.id, { site: target.site, agentId: target.agentId, resolve, reject, cancelTimer });
    });
    // The reply may settle (agent offline, timeout) while the publish is still in flight: that is not unhandled.
    reply.catch(() => {});
    try {
      await this.deps.publish(topics.command(target.site, target.agentId), payload);
    } catch (err) {
      this.settle(command.id)?.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return reply;
  }

  /** A validated reply from `from` (the topic's agent). */
  handleReply(reply: CommandReply, from: { site: string; agentId: string }): void {
    const entry = this.pending.get(reply.id);
    if (entry === undefined || entry.agentId !== from.agentId || entry.site !== from.site) {
      this.log.debug({ id: reply.id, agentId: from.agentId }, 'reply without a pending command');
      return;
    }
    this.settle(reply.id)?.resolve(reply);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  private settle(id: string): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry === undefined) return undefined;
    this.pending.delete(id);
    entry.cancelTimer();
    return entry;
  }

  private rejectAgent(agentId: string, why: string): void {
    for (const [id, entry] of [...this.pending]) {
      if (entry.agentId === agentId)
        this.settle(id)?.reject(new AppError(ErrorCode.AGENT_OFFLINE, `command ${id}: ${why}`));
    }
  }
}
