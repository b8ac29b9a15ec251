/**
 * One simulated device's state: power, uptime, faults, sessions, calls, temperature and history.
 * Protocol servers (rest.ts, snmp.ts, ssh.ts) read this state, so every protocol tells the same story.
 * Device time comes from the injected Clock; randomness from the seeded PRNG.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../protocols/clock.ts';
import { newCall, rollQuality, type SimCall } from './calls.ts';
import { type ActiveFault, FaultBook, type FaultKind, type FaultSpec } from './faults.ts';
import { faultHistoryLine, type HistoryEvent } from './history.ts';
import type { DeviceIdentity } from './identity.ts';
import type { Prng } from './prng.ts';

export interface TlsMaterial {
  key: string;
  cert: string;
}

export interface DeviceTuning {
  /** Concurrent REST+SSH sessions before login is refused ([GUESS]: real units showed 8 live sessions). */
  maxSessions: number;
  /** Idle time after which a session is gone and requests get 403 ([GUESS]). */
  sessionIdleMs: number;
  /** Failed logins in a row before the port locks (SessionPortLockout) ([GUESS]). */
  lockoutAttempts: number;
  lockoutMs: number;
  /** Down time of POST /rest/system/reboot (real units take about 3 minutes [CODE]). */
  rebootDurationMs: number;
  /** Start and end calls by themselves. */
  autoCalls: boolean;
  callIdleMeanMs: number;
  callMeanMs: number;
  qualityTickMs: number;
  /** Call packet loss (%) above which packetLossExcessive is raised. */
  packetLossThresholdPct: number;
  temperatureThresholdC: number;
  /**
   * How long the HTTPS server keeps an idle connection open ([GUESS]: real units' idle timeout is unknown; node's
   * default, 5 s). The agent reuses a connection its device keeps open (bench B8 probe measures a longer one).
   */
  restKeepAliveMs: number;
}

export const DEFAULT_TUNING: DeviceTuning = {
  maxSessions: 10,
  sessionIdleMs: 15 * 60_000,
  lockoutAttempts: 5,
  lockoutMs: 60_000,
  rebootDurationMs: 180_000,
  autoCalls: true,
  callIdleMeanMs: 10 * 60_000,
  callMeanMs: 20 * 60_000,
  qualityTickMs: 10_000,
  packetLossThresholdPct: 5,
  temperatureThresholdC: 80,
  restKeepAliveMs: 5000,
};

export interface DeviceSession {
  id: string;
  xsrfToken: string;
  userId: string;
  clientType: 'WEB' | 'SSH';
  location: string;
  createdAt: number;
  lastUsedAt: number;
}

export type { CallQuality, SimCall } from './calls.ts';
export type { HistoryEvent };

export type LoginResult = { ok: true; session: DeviceSession } | { ok: false; reason: string };

export type DeviceState = 'up' | 'down' | 'booting';

const HISTORY_LIMIT = 2000;

export class SimDevice extends EventEmitter {
  readonly faults: FaultBook;
  state: DeviceState = 'up';
  bootAt: number;
  tls: TlsMaterial;
  call: SimCall | null = null;
  readonly sessions = new Map<string, DeviceSession>();
  readonly history: HistoryEvent[] = [];
  private failedLogins = 0;
  private lockedUntil = 0;
  private nextCallId = 1;
  private isLossExcessive = false;
  private readonly timers = new Set<() => void>();
  private callTimer: (() => void) | undefined;
  private readonly tempOffsetC: number;

  constructor(
    readonly identity: DeviceIdentity,
    private readonly clock: Clock,
    private readonly prng: Prng,
    readonly tuning: DeviceTuning,
    tls: TlsMaterial,
    private readonly makeTls: () => Promise<TlsMaterial>,
    readonly log: Logger,
  ) {
    super();
    this.tls = tls;
    this.faults = new FaultBook(clock, (fault, phase) => this.onFault(fault, phase));
    this.bootAt = clock.now() - prng.int(3_600, 40 * 86_400) * 1000;
    this.tempOffsetC = prng.int(0, 60) / 10;
    this.record('system', 'I', 'SystemManager', 'system boot completed');
    this.history[0]!.at = this.bootAt;
  }

  get serial(): string {
    return this.identity.serial;
  }

  start(): void {
    if (this.tuning.autoCalls) this.scheduleCall(false);
  }

  stop(): void {
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.callTimer?.();
    this.faults.clear();
    this.removeAllListeners();
  }

  // ---- power, uptime, faults ----

  isUp(): boolean {
    return this.state === 'up';
  }

  uptimeS(): number {
    return Math.max(0, (this.clock.now() - this.bootAt) / 1000);
  }

  now(): number {
    return this.clock.now();
  }

  injectFault(spec: FaultSpec): ActiveFault {
    return this.faults.inject(spec);
  }

  /** True when this request or packet is lost (network-loss fault), decided by the seeded PRNG. */
  isDropped(): boolean {
    const loss = this.faults.value('network-loss');
    return loss !== undefined && this.prng.next() < loss;
  }

  addedDelayMs(): number {
    return this.faults.value('slow') ?? 0;
  }

  isGarbage(): boolean {
    return this.faults.has('garbage');
  }

  random(): number {
    return this.prng.next();
  }

  isCameraConnected(): boolean {
    return !this.faults.has('camera-disconnected');
  }

  isMicConnected(): boolean {
    return !this.faults.has('mic-missing');
  }

  /** Simulated board temperature [GUESS: real units expose none in the Poly MIB or REST]. */
  temperatureC(): number {
    const high = this.faults.value('high-temperature');
    if (high !== undefined) return high;
    const wobble = Math.sin(this.clock.now() / 600_000) * 1.5;
    return Math.round((41 + this.tempOffsetC + (this.call ? 3 : 0) + wobble) * 10) / 10;
  }

  isTemperatureHigh(): boolean {
    return this.temperatureC() >= this.tuning.temperatureThresholdC;
  }

  /** Overall health as the MIB sees it: 2 ok, 3 failed. */
  isHealthy(): boolean {
    return this.isCameraConnected() && this.isMicConnected() && !this.isTemperatureHigh();
  }

  private onFault(fault: ActiveFault, phase: 'start' | 'end'): void {
    this.log.info({ kind: fault.kind, phase, value: fault.value }, 'fault');
    this.recordFault(fault.kind, phase, fault.value);
    const isPowerKind = fault.kind === 'power-off' || fault.kind === 'reboot';
    if (isPowerKind && phase === 'start' && this.state === 'up') this.goDown();
    // a reboot restarts the hung web service
    if (isPowerKind && phase === 'start' && this.faults.has('rest-hung')) this.faults.clear('rest-hung');
    this.emit('fault', fault, phase);
    if (isPowerKind && phase === 'end' && !this.faults.has('power-off') && !this.faults.has('reboot')) {
      void this.boot();
    }
    if (fault.kind === 'network-loss' && this.call) this.updateQuality();
  }

  private recordFault(kind: FaultKind, phase: 'start' | 'end', value?: number): void {
    const line = faultHistoryLine(kind, phase, value, this.identity.camera.name);
    if (line) this.record(line.log, line.level, line.tag, line.message);
  }

  private goDown(): void {
    this.state = 'down';
    if (this.call) this.endCall('network');
    this.sessions.clear();
    this.emit('down');
  }

  private async boot(): Promise<void> {
    this.state = 'booting';
    try {
      this.tls = await this.makeTls();
    } catch (err) {
      this.log.error({ err }, 'certificate generation failed; keeping the old one');
    }
    if (this.faults.has('power-off') || this.faults.has('reboot')) return; // went down again meanwhile
    this.bootAt = this.clock.now();
    this.failedLogins = 0;
    this.lockedUntil = 0;
    this.state = 'up';
    this.record('system', 'I', 'SystemManager', 'system boot completed');
    this.emit('boot');
  }

  // ---- sessions and logins ----

  login(user: string, password: string, clientType: 'WEB' | 'SSH', location: string): LoginResult {
    const now = this.clock.now();
    if (now < this.lockedUntil) return { ok: false, reason: 'SessionPortLockout' };
    if (user !== this.identity.username || password !== this.identity.password) {
      this.failedLogins++;
      this.record('security', 'W', 'AuthManager', `login failed for user "${user}" from ${location} (${clientType})`);
      if (this.failedLogins >= this.tuning.lockoutAttempts) {
        this.lockedUntil = now + this.tuning.lockoutMs;
        this.failedLogins = 0;
        this.record(
          'security',
          'E',
          'AuthManager',
          `port locked for ${this.tuning.lockoutMs / 1000} s after failed logins`,
        );
        this.emit('port-lock', 'start');
        const cancel = this.clock.setTimer(this.tuning.lockoutMs, () => {
          this.timers.delete(cancel);
          this.emit('port-lock', 'end');
        });
        this.timers.add(cancel);
      }
      return { ok: false, reason: 'SessionRequestInvalid' };
    }
    this.pruneSessions();
    if (this.sessions.size >= this.tuning.maxSessions) {
      this.record('security', 'W', 'SessionManager', `session limit ${this.tuning.maxSessions} reached; login refused`);
      return { ok: false, reason: 'SessionLimitReached' };
    }
    this.failedLogins = 0;
    const session: DeviceSession = {
      id: `PS${randomBytes(36).toString('base64').slice(0, 48)}`,
      xsrfToken: randomBytes(16).toString('hex'),
      userId: user,
      clientType,
      location,
      createdAt: now,
      lastUsedAt: now,
    };
    this.sessions.set(session.id, session);
    this.record('security', 'I', 'AuthManager', `user "${user}" logged in from ${location} (${clientType})`);
    return { ok: true, session };
  }

  /** A live session, touched; undefined when unknown or idle for too long (expired). */
  touchSession(id: string | undefined): DeviceSession | undefined {
    if (id === undefined) return undefined;
    this.pruneSessions();
    const session = this.sessions.get(id);
    if (session) session.lastUsedAt = this.clock.now();
    return session;
  }

  endSession(id: string): boolean {
    return this.sessions.delete(id);
  }

  private pruneSessions(): void {
    const now = this.clock.now();
    for (const [id, s] of this.sessions) {
      if (s.clientType === 'WEB' && now - s.lastUsedAt > this.tuning.sessionIdleMs) this.sessions.delete(id);
    }
  }

  // ---- calls ----

  private scheduleCall(isEnd: boolean): void {
    const mean = isEnd ? this.tuning.callMeanMs : this.tuning.callIdleMeanMs;
    const delay = Math.round(mean * (0.3 + this.prng.next() * 1.4));
    this.callTimer?.();
    this.callTimer = this.clock.setTimer(delay, () => {
      this.callTimer = undefined;
      if (isEnd) this.endCall('local');
      else if (this.isUp() && !this.call) this.startCall();
      this.scheduleCall(!isEnd && this.call !== null);
    });
  }

  startCall(options: { farSiteName?: string; lossPct?: number } = {}): SimCall {
    if (this.call) return this.call;
    const id = this.nextCallId++;
    const call = newCall(this.prng, id, this.clock.now(), options.farSiteName);
    this.call = call;
    this.baseLossOverride = options.lossPct;
    this.record(
      'call',
      'I',
      'CallManager',
      `call ${id} connected ${call.direction} ${call.farSiteName} (${call.farSiteNumber}) at ${call.speedKbps} kbps`,
    );
    this.updateQuality();
    const tick = (): void => {
      if (this.call !== call) return;
      this.updateQuality();
      const cancel = this.clock.setTimer(this.tuning.qualityTickMs, () => {
        this.timers.delete(cancel);
        tick();
      });
      this.timers.add(cancel);
    };
    const cancel = this.clock.setTimer(this.tuning.qualityTickMs, () => {
      this.timers.delete(cancel);
      tick();
    });
    this.timers.add(cancel);
    this.emit('call', 'start', call);
    return call;
  }

  private baseLossOverride: number | undefined;

  endCall(cause: 'local' | 'remote' | 'network' = 'local'): void {
    const call = this.call;
    if (!call) return;
    this.call = null;
    if (this.isLossExcessive) {
      this.isLossExcessive = false;
      this.emit('packet-loss', 'ok', call);
    }
    const minutes = Math.round((this.clock.now() - call.startedAt) / 60_000);
    this.record(
      'call',
      'I',
      'CallManager',
      `call ${call.id} disconnected (${cause}) after ${minutes} min, rx loss ${call.packetsLostRx}/${call.packetsRx} packets`,
    );
    this.emit('call', 'end', call);
  }

  /** Re-roll the call's quality: seeded noise, occasional spikes, plus the network-loss fault. */
  updateQuality(): void {
    const call = this.call;
    if (!call) return;
    rollQuality(
      this.prng,
      call,
      this.faults.value('network-loss') ?? 0,
      this.baseLossOverride,
      this.tuning.qualityTickMs,
    );
    const isExcessive = call.quality.lossPct > this.tuning.packetLossThresholdPct;
    if (isExcessive !== this.isLossExcessive) {
      this.isLossExcessive = isExcessive;
      this.record(
        'call',
        isExcessive ? 'W' : 'I',
        'MediaMonitor',
        `call ${call.id} packet loss ${isExcessive ? 'excessive' : 'ok'}: ${call.quality.lossPct}%`,
      );
      this.emit('packet-loss', isExcessive ? 'excessive' : 'ok', call);
    }
    this.emit('quality', call);
  }

  // ---- history ----

  record(log: HistoryEvent['log'], level: HistoryEvent['level'], tag: string, message: string): void {
    this.history.push({ at: this.clock.now(), log, level, tag, message });
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
  }
}
