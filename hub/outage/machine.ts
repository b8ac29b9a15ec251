/**
 * The outage state machine of ONE device: pure (no I/O, no timers), time passed in, deterministic.
 * Inputs: live health records, device events, agent offline/online. Output: at most one transition per input.
 *
 * - down: every channel failed on `downAfterFailedPolls` consecutive polls (each poll already includes the
 *   agent's quick retries), or the agent reported the device gone. A poll with every channel failed never moves
 *   the device anywhere else, so one missed poll changes nothing.
 * - degraded: component faults, one channel failing for `partialChannelFailedPolls` polls, call quality bad for
 *   `callQualityWindowMs`, temperature, or flapping (`flapCount` down/up cycles or reboots within `flapWindowMs`).
 *   Flapping is reported once: the device stays degraded (reason `flapping`) until the window is quiet; while
 *   flapping, a down episode becomes `down` only once it lasts `flapDownHoldMs`.
 * - unknown: the agent watching the device is offline (the caller raises one site alert, not one per device).
 */
import type { HealthRecord } from '../../protocols/health.ts';
import type { DetectionConfig } from '../config.ts';
import type { DeviceState } from '../types.ts';

export interface MachineTransition {
  from: DeviceState;
  to: DeviceState;
  atMs: number;
  reason: string;
  evidence: string[];
  problems: string[];
}

export interface MachineInit {
  state: DeviceState;
  sinceMs: number;
  reason: string;
  problems?: string[];
  /** Stored flapping state (issue 19: it survives a restart). */
  flapEvents?: number[];
  isFlapping?: boolean;
}

export type DeviceEventType = 'device-gone' | 'device-found' | 'reboot-detected';

interface Problem {
  code: string;
  line: string;
}

/** One channel's result in a record (what the machine reads of it). */
interface Probe {
  ok: boolean;
  attempts: number;
  error?: { kind: string; message: string } | undefined;
}

/** Order of precedence for the reason of `degraded`. */
const PROBLEM_ORDER = ['flapping', 'unreachable', 'component-failed', 'channel-failed', 'call-quality', 'temperature'];

/** Uptime may jitter by a second between sources; less than this backwards is not a reboot. */
const UPTIME_TOLERANCE_S = 2;

export class DeviceMachine {
  readonly serial: string;
  state: DeviceState;
  sinceMs: number;
  reason: string;
  problems: string[];
  evidence: string[] = [];

  private readonly cfg: Readonly<DetectionConfig>;
  private hasSeen: boolean;
  private isAgentOffline = false;
  /** A live record arrived since the agent (re)appeared: the facts below describe the device. */
  private hasFacts = false;
  private lastPollAllFailed = false;
  private failedPolls = 0;
  private lastFailedProbes: string[] = [];
  private readonly channelFails = new Map<string, number>();
  private isGone = false;
  private goneDetail = '';
  private isInDownEpisode = false;
  private downSinceMs: number | undefined;
  private components: Problem[] = [];
  private channels: Problem[] = [];
  private callBadSinceMs: number | undefined;
  private callLine = '';
  private isHot = false;
  /** The latest temperature (its evidence line is built only while hot). */
  private temperatureC = 0;
  private lastUptimeS: number | undefined;
  private flapEvents: number[] = [];
  private isFlapping = false;
  /** The device's poll interval (from its latest record). */
  pollIntervalMs = 10_000;

  constructor(serial: string, cfg: Readonly<DetectionConfig>, init?: MachineInit, nowMs = 0) {
    this.serial = serial;
    this.cfg = cfg;
    this.state = init?.state ?? 'unknown';
    this.sinceMs = init?.sinceMs ?? nowMs;
    this.reason = init?.reason ?? 'registered';
    this.problems = init?.problems ?? [];
    this.hasSeen = init !== undefined;
    this.flapEvents = [...(init?.flapEvents ?? [])];
    this.isFlapping = init?.isFlapping ?? false;
  }

  /** How many down/up cycles or reboots are in the window, the latest (-1: none), whether flapping is reported. */
  get flapCount(): number {
    return this.flapEvents.length;
  }
  get lastFlapMs(): number {
    return this.flapEvents[this.flapEvents.length - 1] ?? -1;
  }
  get isFlappingReported(): boolean {
    return this.isFlapping;
  }

  /** The flapping state to store: the recent down/up cycles or reboots, and whether it is reported. */
  flapState(): { events: readonly number[]; isFlapping: boolean } {
    return { events: this.flapEvents, isFlapping: this.isFlapping };
  }

  /** A live health record (the caller filters replayed, stale and out-of-order ones). */
  onHealth(record: HealthRecord, nowMs: number): MachineTransition | null {
    this.pollIntervalMs = record.pollIntervalMs;
    this.isAgentOffline = false;
    // Counted in place (no entry arrays per record: this runs for every record of every device).
    const reach = record.reachability as Readonly<Record<string, Probe | undefined>>;
    let probes = 0;
    let failed = 0;
    for (const channel in reach) {
      const probe = reach[channel];
      if (probe === undefined) continue;
      probes++;
      if (!probe.ok) failed++;
    }
    const isAllFailed = failed === probes;
    this.lastPollAllFailed = isAllFailed;
    if (isAllFailed) {
      this.failedPolls++;
      const lines: string[] = [];
      for (const channel in reach) {
        const probe = reach[channel];
        if (probe !== undefined && !probe.ok) lines.push(describeProbe(channel, probe));
      }
      this.lastFailedProbes = lines;
      this.hasFacts = true;
      return this.evaluate(nowMs);
    }
    this.failedPolls = 0;
    this.isGone = false;
    const endsEpisode = this.isInDownEpisode;
    if (record.uptimeS !== undefined) {
      if (this.lastUptimeS !== undefined && record.uptimeS + UPTIME_TOLERANCE_S < this.lastUptimeS && !endsEpisode) {
        this.addFlap(nowMs, true);
      }
      this.lastUptimeS = record.uptimeS;
    }
    this.updateChannels(reach, probes);
    // Only a record with a failed component allocates (state kept per device is promoted by the GC: a new
    // empty array per record would be garbage in the old generation).
    const hasFailedComponent = record.components.some((c) => c.status === 'failed');
    if (hasFailedComponent || this.components.length > 0) {
      this.components = record.components
        .filter((c) => c.status === 'failed')
        .map((c) => ({ code: `component-failed:${c.kind}`, line: `${c.kind} "${c.name}": failed (${c.source})` }));
    }
    this.updateCall(record, nowMs);
    this.updateTemperature(record.temperatureC);
    this.hasFacts = true;
    return this.evaluate(nowMs);
  }

  onDeviceEvent(type: DeviceEventType, nowMs: number, detail: string): MachineTransition | null {
    switch (type) {
      case 'device-gone':
        this.isGone = true;
        this.goneDetail = detail;
        this.hasFacts = true;
        return this.evaluate(nowMs);
      case 'device-found':
        this.isGone = false;
        return null;
      case 'reboot-detected':
        this.addFlap(nowMs, true);
        return this.hasFacts ? this.evaluate(nowMs) : null;
      default: {
        const never: never = type;
        return never;
      }
    }
  }

  /** The agent watching this device went offline (Last Will, clean stop, or missed heartbeats). */
  onAgentOffline(nowMs: number, reason: string, evidence: string[]): MachineTransition | null {
    this.isAgentOffline = true;
    this.hasFacts = false;
    this.failedPolls = 0;
    this.lastPollAllFailed = false;
    this.channelFails.clear();
    this.callBadSinceMs = undefined;
    this.isGone = false;
    this.isInDownEpisode = false;
    this.downSinceMs = undefined;
    if (this.state === 'unknown') return null;
    return this.move('unknown', nowMs, reason, evidence, []);
  }

  onAgentOnline(): void {
    this.isAgentOffline = false;
  }

  private evaluate(nowMs: number): MachineTransition | null {
    if (this.isAgentOffline || !this.hasFacts) return null;
    const isDownCond = this.isGone || this.failedPolls >= this.cfg.downAfterFailedPolls;
    if (isDownCond && !this.isInDownEpisode) {
      this.isInDownEpisode = true;
      this.downSinceMs = nowMs;
    } else if (!isDownCond && this.isInDownEpisode && !this.lastPollAllFailed) {
      this.isInDownEpisode = false;
      this.downSinceMs = undefined;
      this.addFlap(nowMs);
    }
    this.updateFlapping(nowMs);
    // A poll with every channel failed, short of the threshold, keeps the current state.
    if (!isDownCond && this.lastPollAllFailed) return null;

    const problems: Problem[] = [];
    if (this.isFlapping) {
      problems.push({
        code: 'flapping',
        line: `${this.flapEvents.length} down/up cycles or reboots within ${Math.round(this.cfg.flapWindowMs / 60_000)} min`,
      });
    }
    if (isDownCond) {
      const heldMs = nowMs - (this.downSinceMs ?? nowMs);
      if (!this.isFlapping || heldMs >= this.cfg.flapDownHoldMs) {
        const evidence = this.isGone
          ? [`agent reported the device gone: ${this.goneDetail}`]
          : [`${this.failedPolls} consecutive polls with every channel failed`, ...this.lastFailedProbes];
        return this.move('down', nowMs, this.isGone ? 'device-gone' : 'all-channels-failed', evidence, []);
      }
      problems.push({ code: 'unreachable', line: `unreachable for ${Math.round(heldMs / 1000)} s while flapping` });
    } else {
      problems.push(...this.components, ...this.channels);
      if (this.callLine !== '') problems.push({ code: 'call-quality', line: this.callLine });
      if (this.isHot) {
        const line = `temperature ${this.temperatureC} °C (limit ${this.cfg.temperatureC} °C)`;
        problems.push({ code: 'temperature', line });
      }
    }
    if (problems.length === 0) {
      // Still up with nothing to show: what `move` would conclude, without two new empty lists per record.
      if (this.state === 'up' && this.problems.length === 0 && this.evidence.length === 0) return null;
      return this.move('up', nowMs, this.hasSeen ? 'recovered' : 'first-seen', [], []);
    }
    const codes = [...new Set(problems.map((p) => p.code))];
    const reason =
      PROBLEM_ORDER.find((base) => codes.some((c) => c === base || c.startsWith(`${base}:`))) ?? 'degraded';
    return this.move(
      'degraded',
      nowMs,
      reason,
      problems.map((p) => p.line),
      codes,
    );
  }

  private move(
    to: DeviceState,
    nowMs: number,
    reason: string,
    evidence: string[],
    problems: string[],
  ): MachineTransition | null {
    this.hasSeen = this.hasSeen || to !== 'unknown';
    if (to === this.state) {
      // Same state: refresh what it is about, no transition (a new fault while degraded is not a new outage).
      // Equal lists keep the arrays already held (new ones per record would be promoted, then garbage).
      if (!isSameList(this.problems, problems)) this.problems = problems;
      if (!isSameList(this.evidence, evidence)) this.evidence = evidence;
      if (to !== 'up') this.reason = reason;
      return null;
    }
    const transition: MachineTransition = { from: this.state, to, atMs: nowMs, reason, evidence, problems };
    this.state = to;
    this.sinceMs = nowMs;
    this.reason = reason;
    this.problems = problems;
    this.evidence = evidence;
    return transition;
  }

  /** `isReboot`: the agent's reboot event and the uptime reset it saw describe the same reboot: count it once. */
  private addFlap(nowMs: number, isReboot = false): void {
    const last = this.flapEvents[this.flapEvents.length - 1];
    if (isReboot && last !== undefined && nowMs - last < this.pollIntervalMs) return;
    this.flapEvents.push(nowMs);
  }

  private updateFlapping(nowMs: number): void {
    const horizon = nowMs - this.cfg.flapWindowMs;
    while (this.flapEvents.length > 0 && (this.flapEvents[0] ?? 0) <= horizon) this.flapEvents.shift();
    if (!this.isFlapping && this.flapEvents.length >= this.cfg.flapCount) this.isFlapping = true;
    if (this.isFlapping && this.flapEvents.length === 0) this.isFlapping = false;
  }

  /** `present`: how many channels the record has (a channel it no longer has forgets its count). */
  private updateChannels(reach: Readonly<Record<string, Probe | undefined>>, present: number): void {
    let channels: Problem[] | undefined;
    for (const channel in reach) {
      const probe = reach[channel];
      if (probe === undefined) continue;
      const count = probe.ok ? 0 : (this.channelFails.get(channel) ?? 0) + 1;
      this.channelFails.set(channel, count);
      if (count >= this.cfg.partialChannelFailedPolls) {
        channels ??= [];
        channels.push({ code: `channel-failed:${channel}`, line: `${channel}: failed ${count} polls in a row` });
      }
    }
    // Unchanged when nothing fails (no new empty array kept per record).
    if (channels !== undefined || this.channels.length > 0) this.channels = channels ?? [];
    if (this.channelFails.size > present) {
      for (const channel of this.channelFails.keys()) {
        if (!Object.hasOwn(reach, channel) || reach[channel] === undefined) this.channelFails.delete(channel);
      }
    }
  }

  private updateCall(record: HealthRecord, nowMs: number): void {
    const call = record.call;
    const loss = call?.packetLossPct ?? 0;
    const jitter = call?.jitterMs ?? 0;
    const isBad = call?.inCall === true && (loss > this.cfg.packetLossPct || jitter > this.cfg.jitterMs);
    if (!isBad) {
      this.callBadSinceMs = undefined;
      this.callLine = '';
      return;
    }
    this.callBadSinceMs ??= nowMs;
    const forMs = nowMs - this.callBadSinceMs;
    this.callLine =
      forMs >= this.cfg.callQualityWindowMs
        ? `call quality bad for ${Math.round(forMs / 1000)} s: packet loss ${loss}% (max ${this.cfg.packetLossPct}%), jitter ${jitter} ms (max ${this.cfg.jitterMs} ms)`
        : '';
  }

  private updateTemperature(temperatureC: number | undefined): void {
    if (temperatureC === undefined) {
      this.isHot = false;
      return;
    }
    if (temperatureC >= this.cfg.temperatureC) this.isHot = true;
    else if (temperatureC < this.cfg.temperatureC - this.cfg.temperatureHysteresisC) this.isHot = false;
    this.temperatureC = temperatureC;
  }
}

function isSameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describeProbe(
  channel: string,
  probe: { attempts: number; error?: { kind: string; message: string } | undefined },
): string {
  const error = probe.error === undefined ? 'failed' : `${probe.error.kind}: ${probe.error.message}`;
  return `${channel}: ${error} (${probe.attempts} attempt${probe.attempts === 1 ? '' : 's'})`;
}
