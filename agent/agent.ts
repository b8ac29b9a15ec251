/**
 * `createAgent(config, deps)`: the agent as a library (used by main.ts, tests, the demo and the bench).
 * The constructor only assigns; `start()` opens the outbox, connects MQTT and starts one poll loop per
 * device (staggered); `stop()` publishes `offline`, logs out of every device and closes everything.
 * `pollOnce()` polls every device once and returns the records (usable without `start()`).
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import type { AgentConfig } from '../protocols/agent-config.ts';
import { SharedV2cSocket } from '../protocols/clients/snmp.ts';
import { type Clock, monotonicNow, systemClock } from '../protocols/clock.ts';
import type { HealthRecord } from '../protocols/health.ts';
import { encodeHealth } from '../protocols/health-encode.ts';
import type { DeviceEvent, Heartbeat, Presence } from '../protocols/messages.ts';
import { brokerUrls } from '../protocols/mqtt-failover.ts';
import { topics } from '../protocols/topics.ts';
import { encodeChecked } from '../protocols/wire.ts';
import { TransferStore } from './attachments.ts';
import { CertTrustStore } from './cert-trust.ts';
import { CommandHandler } from './commands.ts';
import { collectSecrets, isUsbDevice } from './config-facts.ts';
import { type DeviceEventType, DevicePoller } from './device-poller.ts';
import { type IdentityChange, IdentityStore, RebootLedger } from './identity-trust.ts';
import { LivenessWatch, realLivenessProbes } from './liveness.ts';
import { LogCache } from './log-cache.ts';
import { MqttLink } from './mqtt-link.ts';
import { normalise, type RecordContext, type RecordDraft } from './normalise.ts';
import { Outbox } from './outbox.ts';
import { splitPeripherals, withPeripheralHosts } from './peripherals.ts';
import { RecordTrace } from './record-trace.ts';
import { type ReceivedTrap, type TrapCounters, TrapReceiver } from './traps/trap-receiver.ts';
import { UsbWatcher } from './usb-watch.ts';

export const AGENT_VERSION = '0.1.0';
const TRACE_LENGTH = 50;
/** Devices' first polls are spread this far apart (at most over one interval). */
const STAGGER_MS = 50;
const POLL_ONCE_PARALLEL = 64;

export interface AgentDeps {
  logger?: Logger;
  clock?: Clock;
  /** MQTT reconnect backoff bounds (default 500 ms .. 30 s, full jitter). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export interface AgentEvents {
  record: [HealthRecord];
  event: [DeviceEvent];
  connected: [];
  disconnected: [];
  acked: [{ n: number; kind: string; topic: string }];
}

export interface Agent {
  start(): Promise<void>;
  stop(): Promise<void>;
  pollOnce(): Promise<HealthRecord[]>;
  on<K extends keyof AgentEvents>(event: K, listener: (...args: AgentEvents[K]) => void): Agent;
  off<K extends keyof AgentEvents>(event: K, listener: (...args: AgentEvents[K]) => void): Agent;
  readonly stats: {
    connected: boolean;
    outboxDepth: number;
    outboxDropped: number;
    replaying: boolean;
    identityChanges: { accepted: number; refused: number };
    /** The trap receiver's bound UDP port and counters (when `traps.enabled`). */
    traps?: TrapCounters & { port: number };
  };
}

class AgentImpl extends EventEmitter implements Agent {
  private readonly config: Readonly<AgentConfig>;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly deps: AgentDeps;
  private initialised = false;
  private running = false;
  private certs!: CertTrustStore;
  private hostKeys!: IdentityStore;
  private snmpSocket!: SharedV2cSocket;
  private pollers = new Map<string, DevicePoller>();
  private usb: UsbWatcher | undefined;
  private outbox: Outbox | undefined;
  private link: MqttLink | undefined;
  private logCache!: LogCache;
  private transfers!: TransferStore;
  private commands: CommandHandler | undefined;
  private readonly timers = new Map<string, () => void>();
  private readonly running_polls = new Set<Promise<unknown>>();
  private readonly trace = new RecordTrace(TRACE_LENGTH);
  private readonly progress = new Map<string, { done: number; total: number }>();
  private localSeq = 0;
  /** Identity changes (certificate, SSH host key) accepted after a seen reboot, and refused. */
  private readonly identityChanges = { accepted: 0, refused: 0 };
  private traps: TrapReceiver | undefined;
  /** Peripheral serial (an E70) -> its host's serial: commands for the peripheral run on the host. */
  private readonly peripheralHosts = new Map<string, string>();
  private liveness: LivenessWatch | undefined;
  /** Devices with a poll running now, and those to poll again as soon as it ends (a trap, a liveness miss). */
  private readonly polling = new Set<string>();
  private readonly repollWanted = new Set<string>();
  private isOutboxFull = false;

  constructor(config: Readonly<AgentConfig>, deps: AgentDeps) {
    super();
    this.config = config;
    this.deps = deps;
    this.logger = deps.logger ?? pino({ level: 'silent' });
    this.clock = deps.clock ?? systemClock;
  }

  get stats() {
    return {
      connected: this.link?.connected ?? false,
      outboxDepth: this.outbox?.depth ?? 0,
      outboxDropped: this.outbox?.dropped ?? 0,
      replaying: this.link?.replaying ?? false,
      identityChanges: { ...this.identityChanges },
      ...(this.traps ? { traps: { ...this.traps.counters, port: this.traps.port } } : {}),
    };
  }

  private get ctx(): RecordContext {
    const c = this.config;
    return { agentId: c.agentId, site: c.site, customer: c.customer, pollIntervalMs: c.pollIntervalMs };
  }

  private async init(): Promise<void> {
    if (this.initialised) return;
    this.initialised = true;
    const c = this.config;
    mkdirSync(c.dataDir, { recursive: true });
    const ledger = new RebootLedger(this.clock);
    const trust = {
      dataDir: c.dataDir,
      ledger,
      onChange: (change: IdentityChange) => this.onIdentityChange(change),
      now: () => new Date(this.clock.now()).toISOString(),
    };
    this.certs = new CertTrustStore(trust);
    this.certs.load();
    this.hostKeys = new IdentityStore({ ...trust, file: 'known-ssh-host-keys.json', channel: 'ssh' });
    this.hostKeys.load();
    this.snmpSocket = new SharedV2cSocket();
    const emitEvent = (serial: string, type: DeviceEventType, detail: string) =>
      this.emitDeviceEvent(serial, type, detail);
    for (const device of c.devices) {
      if (isUsbDevice(device)) continue;
      this.pollers.set(
        device.serial,
        new DevicePoller(device, {
          config: c,
          certs: this.certs,
          hostKeys: this.hostKeys,
          ledger,
          snmpSocket: this.snmpSocket,
          clock: this.clock,
          logger: this.logger,
          emitEvent,
        }),
      );
    }
    const usbDevices = c.devices.filter(isUsbDevice);
    if (c.usb.enabled || usbDevices.length > 0) {
      this.usb = new UsbWatcher(c.usb.sysfsRoot, usbDevices, c.dataDir, emitEvent);
      await this.usb.load();
    }
    const secrets = collectSecrets(c);
    this.logCache = new LogCache({
      dataDir: c.dataDir,
      secrets,
      clock: this.clock,
      logger: this.logger,
      requestTimeoutMs: c.requestTimeoutMs,
      maxUnpackedBytes: c.logCache.maxUnpackedBytes,
      // first archives: about one a second at most, over at least ten polls
      firstFillWindowMs: Math.max(10 * c.pollIntervalMs, this.pollers.size * 1000),
      deviceCount: this.pollers.size,
    });
    this.transfers = new TransferStore(c.dataDir);
  }

  private onIdentityChange(change: IdentityChange): void {
    const rest = change.channel === 'rest';
    const what = rest ? 'certificate' : 'SSH host key';
    const detail = change.accepted
      ? `${what} changed after the device was seen rebooting (uptime reset); new one accepted (was ${change.previous}, now ${change.next})`
      : `${what} changed without a reboot being seen; refused, ${rest ? 'REST' : 'SSH'} not used, no credentials sent (was ${change.previous}, now ${change.next})`;
    this.identityChanges[change.accepted ? 'accepted' : 'refused']++;
    const log = { serial: change.serial, channel: change.channel, accepted: change.accepted, next: change.next };
    if (change.accepted) this.logger.warn(log, 'device identity changed');
    else this.logger.error(log, 'device identity changed; refused');
    this.emitDeviceEvent(change.serial, rest ? 'certificate-changed' : 'ssh-host-key-changed', detail);
  }

  private isReplayedNow(): boolean {
    if (!this.link) return false;
    return !this.link.connected || this.link.replaying;
  }

  private emitDeviceEvent(serial: string, type: DeviceEventType, detail: string, trapOid?: string): void {
    const event: DeviceEvent = {
      v: 1,
      agentId: this.config.agentId,
      serial,
      at: new Date(this.clock.now()).toISOString(),
      replayed: this.isReplayedNow(),
      type,
      detail: detail.slice(0, 1000),
      ...(trapOid === undefined ? {} : { trapOid: trapOid.slice(0, 200) }),
    };
    if (this.outbox && this.running) {
      const payload = encodeChecked('event', event);
      this.outbox.append([
        {
          kind: 'event',
          topic: topics.event(this.config.site, this.config.agentId, serial),
          make: () => payload,
          seq: false,
        },
      ]);
      this.noteOutboxSpace();
      this.link?.pump();
    }
    this.emit('event', event);
  }

  /** A full disk is logged once when it starts (records are then dropped and counted) and once when it ends. */
  private noteOutboxSpace(): void {
    const error = this.outbox?.lastAppendError;
    if ((error !== undefined) === this.isOutboxFull) return;
    this.isOutboxFull = error !== undefined;
    const dropped = this.outbox?.dropped ?? 0;
    if (error !== undefined) this.logger.error({ error, dropped }, 'outbox: disk full, records dropped and counted');
    else this.logger.warn({ dropped }, 'outbox: writes work again');
  }

  private publishRecord(draft: RecordDraft): HealthRecord {
    const replayed = this.isReplayedNow();
    let record: HealthRecord | undefined;
    if (this.outbox && this.running) {
      const topic = topics.health(this.config.site, this.config.agentId, draft.identity.serial);
      let payload = '';
      const [n] = this.outbox.append([
        {
          kind: 'health',
          topic,
          seq: true,
          make: (seq) => {
            record = { ...draft, seq, replayed };
            // The compiled validator (zod's schema, zod words any error): protocols/health-validator.ts.
            payload = encodeHealth(record);
            return payload;
          },
        },
      ]);
      this.noteOutboxSpace();
      // Sent from memory when it is next in line (the outbox keeps it until the broker acks it).
      if (n !== undefined) this.link?.publishAppended({ n, kind: 'health', topic, payload });
      else this.link?.pump();
    }
    record ??= { ...draft, seq: this.localSeq++, replayed };
    this.trace.push(record);
    this.emit('record', record);
    return record;
  }

  private async pollDevice(poller: DevicePoller): Promise<HealthRecord> {
    const split = splitPeripherals(await poller.poll(this.ctx), poller.peripherals);
    const record = this.publishRecord(split.host);
    for (const peripheral of split.peripherals) {
      this.peripheralHosts.set(peripheral.identity.serial, poller.device.serial);
      this.publishRecord(peripheral);
    }
    if (this.running) {
      const degraded = record.components.some((comp) => comp.status === 'failed');
      void this.logCache.maybeRefresh(poller, degraded, this.config.logCache.refreshMs);
    }
    return record;
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.running_polls.add(promise);
    return promise.finally(() => this.running_polls.delete(promise));
  }

  private scheduleDevice(poller: DevicePoller, delayMs: number): void {
    const cancel = this.clock.setTimer(delayMs, () => {
      void this.track(this.runDevice(poller));
    });
    this.timers.set(poller.device.serial, cancel);
  }

  /** Polls are scheduled on the monotonic clock: a wall-clock step never stalls or bunches them (issue 19). */
  private async runDevice(poller: DevicePoller): Promise<void> {
    const serial = poller.device.serial;
    const started = monotonicNow(this.clock);
    this.polling.add(serial);
    this.repollWanted.delete(serial);
    try {
      await this.pollDevice(poller);
    } catch (err) {
      this.logger.error({ serial, err: { message: (err as Error).message } }, 'poll crashed');
    } finally {
      this.polling.delete(serial);
    }
    if (!this.running) return;
    const again = this.repollWanted.delete(serial);
    this.scheduleDevice(
      poller,
      again ? 0 : Math.max(0, started + this.config.pollIntervalMs - monotonicNow(this.clock)),
    );
  }

  /**
   * Poll a device now instead of at its next turn (a trap, a liveness miss); the regular schedule restarts from
   * this poll. A poll already running is followed at once by one more (requests coalesce).
   */
  repollNow(serial: string): void {
    const poller = this.pollers.get(serial);
    if (!poller || !this.running) return;
    if (this.polling.has(serial)) {
      this.repollWanted.add(serial);
      return;
    }
    this.timers.get(serial)?.();
    this.scheduleDevice(poller, 0);
  }

  private onTrap(trap: ReceivedTrap): void {
    const name = trap.meaning?.name ?? 'unknown trap';
    const detail = `${name} (${trap.trapOid}) from ${trap.from}${trap.varbinds.length > 0 ? `: ${trap.varbinds.join('; ')}` : ''}`;
    this.logger.info({ serial: trap.serial, trap: name, trapOid: trap.trapOid }, 'trap received');
    this.emitDeviceEvent(trap.serial, 'snmp-trap', detail, trap.trapOid);
    if (trap.meaning?.repoll) {
      this.pollers.get(trap.serial)?.requestRestRead();
      this.repollNow(trap.serial);
    }
  }

  private async runUsb(): Promise<void> {
    const started = monotonicNow(this.clock);
    try {
      await this.pollUsb();
    } catch (err) {
      this.logger.error({ err: { message: (err as Error).message } }, 'usb poll crashed');
    }
    if (!this.running) return;
    const delayMs = Math.max(0, started + this.config.pollIntervalMs - monotonicNow(this.clock));
    const cancel = this.clock.setTimer(delayMs, () => {
      void this.track(this.runUsb());
    });
    this.timers.set('usb', cancel);
  }

  private async pollUsb(): Promise<HealthRecord[]> {
    if (!this.usb) return [];
    const drafts = await this.usb.poll(this.ctx, new Date(this.clock.now()).toISOString());
    return drafts.map((d) => this.publishRecord(d));
  }

  private heartbeat(): void {
    const cancel = this.clock.setTimer(this.config.pollIntervalMs, () => {
      if (!this.running) return;
      this.sendHeartbeat();
      this.heartbeat();
    });
    this.timers.set('heartbeat', cancel);
  }

  private sendHeartbeat(): void {
    if (!this.link || !this.outbox) return;
    const progress: NonNullable<Heartbeat['progress']> = [];
    const replay = this.link.replayProgress;
    if (replay) progress.push({ task: 'outbox replay', ...replay });
    for (const [task, p] of this.progress) {
      progress.push({ task: task.slice(0, 80), ...p });
      if (p.done >= p.total) this.progress.delete(task);
    }
    const hb: Heartbeat = {
      v: 1,
      agentId: this.config.agentId,
      at: new Date(this.clock.now()).toISOString(),
      intervalMs: this.config.pollIntervalMs,
      outboxDepth: this.outbox.depth,
      outboxDropped: this.outbox.dropped,
    };
    if (progress.length > 0) hb.progress = progress.slice(0, 50);
    this.link.publishQos0(topics.heartbeat(this.config.site, this.config.agentId), encodeChecked('heartbeat', hb));
  }

  private presence(status: Presence['status']): string {
    const p: Presence = {
      v: 1,
      agentId: this.config.agentId,
      site: this.config.site,
      status,
      at: new Date(this.clock.now()).toISOString(),
      agentVersion: AGENT_VERSION,
      devices: this.config.devices.map((d) => d.serial),
    };
    return encodeChecked('presence', p);
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.init();
    const c = this.config;
    if (c.traps.enabled && !this.traps) {
      const traps = new TrapReceiver(c.traps, c.devices, {
        logger: this.logger,
        onTrap: (trap) => this.onTrap(trap),
      });
      await traps.start();
      this.traps = traps;
    }
    this.outbox = new Outbox(c.dataDir, c.outbox.maxRecords);
    this.outbox.open();
    this.running = true;
    const link = new MqttLink(
      {
        urls: brokerUrls(c.mqtt),
        username: c.mqtt.username,
        password: c.mqtt.password,
        caFile: c.mqtt.caFile,
        clientId: `hezo-agent-${c.site}-${c.agentId}`.slice(0, 64),
        keepaliveS: c.mqtt.keepaliveS,
        maxInflight: c.mqtt.maxInflight,
        presenceTopic: topics.presence(c.site, c.agentId),
        commandTopic: topics.commandsFor(c.site, c.agentId),
        onlinePayload: () => this.presence('online'),
        offlinePayload: () => this.presence('offline'),
        ...(this.deps.reconnectMinMs === undefined ? {} : { reconnectMinMs: this.deps.reconnectMinMs }),
        ...(this.deps.reconnectMaxMs === undefined ? {} : { reconnectMaxMs: this.deps.reconnectMaxMs }),
      },
      { outbox: this.outbox, logger: this.logger, clock: this.clock },
    );
    this.link = link;
    this.commands = new CommandHandler({
      pollers: withPeripheralHosts(this.pollers, (serial) => this.peripheralHosts.get(serial)),
      certs: this.certs,
      hostKeys: this.hostKeys,
      logCache: this.logCache,
      transfers: this.transfers,
      clock: this.clock,
      logger: this.logger,
      secrets: collectSecrets(c),
      requestTimeoutMs: c.requestTimeoutMs,
      publishReply: (payload) => link.publishQos1(topics.reply(c.site, c.agentId), payload),
      publishAttachment: (payload) => link.publishQos1(topics.attachment(c.site, c.agentId), payload),
      pollNow: async (serial) => {
        const poller = this.pollers.get(serial) ?? this.pollers.get(this.peripheralHosts.get(serial) ?? '');
        poller?.requestRestRead();
        return poller ? this.track(this.pollDevice(poller)) : undefined;
      },
      trace: (serial) => this.trace.of(serial),
      progress: (task, done, total) => this.progress.set(task, { done, total }),
    });
    const commands = this.commands;
    link.on('command', (_topic: string, payload: Buffer) => {
      void this.track(commands.handle(payload));
    });
    link.on('connected', () => {
      this.emit('connected');
      this.sendHeartbeat();
    });
    link.on('disconnected', () => this.emit('disconnected'));
    link.on('acked', (row) => this.emit('acked', row));
    link.start();
    const pollers = [...this.pollers.values()];
    const spacing = pollers.length > 0 ? Math.min(STAGGER_MS, c.pollIntervalMs / pollers.length) : 0;
    for (const [i, poller] of pollers.entries()) this.scheduleDevice(poller, Math.round(i * spacing));
    if (this.usb) void this.track(this.runUsb());
    if (c.liveness.enabled) {
      this.liveness = new LivenessWatch(pollers, c.liveness, {
        clock: this.clock,
        logger: this.logger,
        probes: realLivenessProbes(c.liveness.timeoutMs, this.snmpSocket),
        onConfirmedMiss: (observation) => {
          this.pollers.get(observation.device.serial)?.requestRestRead();
          if (this.running) this.publishRecord(normalise(observation, this.ctx));
        },
      });
      this.liveness.start();
    }
    this.heartbeat();
    this.logger.info(
      { agentId: c.agentId, site: c.site, devices: c.devices.length, outbox: this.outbox.depth },
      'agent started',
    );
  }

  async pollOnce(): Promise<HealthRecord[]> {
    await this.init();
    const pollers = [...this.pollers.values()];
    const records: HealthRecord[] = new Array(pollers.length);
    let next = 0;
    const worker = async () => {
      while (next < pollers.length) {
        const i = next++;
        const poller = pollers[i] as DevicePoller;
        records[i] = await this.track(this.pollDevice(poller));
      }
    };
    await Promise.all(Array.from({ length: Math.min(POLL_ONCE_PARALLEL, pollers.length) }, worker));
    return [...records, ...(await this.pollUsb())];
  }

  async stop(): Promise<void> {
    const wasRunning = this.running;
    this.running = false;
    this.liveness?.stop();
    this.liveness = undefined;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    await Promise.race([
      Promise.allSettled([...this.running_polls]),
      new Promise((resolve) => setTimeout(resolve, this.config.requestTimeoutMs * 2).unref()),
    ]);
    await this.traps?.stop();
    this.traps = undefined;
    // a planned stop says so first (the hub raises nothing for it), then the usual retained `offline`
    if (wasRunning && this.link?.connected) {
      const c = this.config;
      await Promise.race([
        this.link.publishQos1(topics.presence(c.site, c.agentId), this.presence('stopping')).catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 2000).unref()),
      ]);
    }
    await this.link?.stop();
    this.link = undefined;
    await Promise.allSettled([...this.pollers.values()].map((p) => p.close()));
    this.snmpSocket?.close();
    this.outbox?.close();
    this.outbox = undefined;
    if (wasRunning) this.logger.info({ agentId: this.config.agentId }, 'agent stopped');
  }
}

export function createAgent(config: Readonly<AgentConfig>, deps: AgentDeps = {}): Agent {
  return new AgentImpl(config, deps);
}
