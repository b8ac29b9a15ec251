/**
 * The drift and early-warning rules of ONE device, fed its health records in order (pure: time is the record's
 * `observedAt`, no I/O). Configuration rules (-> P3 ticket): firmware below the model's minimum, device clock off,
 * REST/SNMP disabled, credentials changed. Trend rules (-> watch): unplanned reboots, camera/microphone blips,
 * temperature, call quality. `observe()` returns the verdict of every rule the record could judge.
 */
import type { HealthRecord } from '../../protocols/health.ts';
import type { RulesConfig } from './rules-config.ts';

export type RuleId =
  | 'firmware-below-minimum'
  | 'clock-offset'
  | 'rest-disabled'
  | 'snmp-disabled'
  | 'credentials-changed'
  | 'unplanned-reboots'
  | 'component-blips'
  | 'temperature-high'
  | 'call-quality';

export const CONFIG_RULES: readonly RuleId[] = [
  'firmware-below-minimum',
  'clock-offset',
  'rest-disabled',
  'snmp-disabled',
  'credentials-changed',
];

/** Whether a verdict of `rule` with this outcome is wanted (see `DeviceRules.observe`). */
export type VerdictFilter = (rule: RuleId, kind: Verdict['kind'], isFiring: boolean) => boolean;

export interface Verdict {
  rule: RuleId;
  kind: 'config' | 'trend';
  isFiring: boolean;
  /** What fired (or why not), one line. */
  detail: string;
  /** The data behind it. */
  data: Record<string, unknown>;
}

/** -1, 0, 1: numeric compare of dotted versions (missing parts are 0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

const UPTIME_JITTER_S = 2;
const BLIP_KINDS = new Set(['camera', 'microphone']);

export class DeviceRules {
  private lastUptimeS: number | undefined;
  private reboots: number[] = [];
  private readonly failedSince = new Map<string, number>();
  private blips: { atMs: number; component: string; lostMs: number }[] = [];
  private hot: number[] = [];
  private readonly failing = new Map<'rest' | 'snmp', { polls: number; kind: string; message: string }>();
  private call: { startMs: number; worstLossPct: number; worstJitterMs: number } | undefined;
  private badCalls: { endMs: number; lossPct: number; jitterMs: number }[] = [];
  private lastAtMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly cfg: Readonly<RulesConfig>) {}

  /** The caller's filter for this observation (undefined: every verdict). */
  private wants: VerdictFilter | undefined;

  /**
   * `isPlanned`: the device is in a maintenance window now (its reboots are planned). `wants`: the verdicts the
   * caller acts on (it sees only those, and the others' detail and data are never built: every record is judged
   * by every rule, and almost every verdict repeats the last one). Rule state advances the same either way.
   */
  observe(record: HealthRecord, atMs: number, isPlanned = false, wants?: VerdictFilter): Verdict[] {
    if (atMs < this.lastAtMs) return [];
    this.lastAtMs = atMs;
    this.wants = wants;
    const out: Verdict[] = [];
    const probes = record.reachability;
    const anyOk = Object.values(probes).some((p) => p?.ok === true);
    if (!anyOk) return out; // a dead poll says nothing about configuration or trends
    this.firmware(record, out);
    this.clock(record, out);
    this.channels(record, out);
    this.rebootsRule(record, atMs, isPlanned, out);
    this.blipsRule(record, atMs, out);
    this.temperature(record, atMs, out);
    this.callQuality(record, atMs, out);
    return out;
  }

  private isWanted(rule: RuleId, kind: Verdict['kind'], isFiring: boolean): boolean {
    return this.wants === undefined || this.wants(rule, kind, isFiring);
  }

  private prune(list: number[], atMs: number): number[] {
    return list.filter((t) => atMs - t < this.cfg.windowMs);
  }

  private firmware(r: HealthRecord, out: Verdict[]): void {
    const min = this.cfg.minFirmware[r.identity.model];
    const fw = r.identity.firmware;
    if (min === undefined || fw === undefined) return;
    const isFiring = compareVersions(fw, min) < 0;
    if (!this.isWanted('firmware-below-minimum', 'config', isFiring)) return;
    out.push({
      rule: 'firmware-below-minimum',
      kind: 'config',
      isFiring,
      detail: `firmware ${fw} ${isFiring ? 'is below' : 'meets'} the minimum ${min} for ${r.identity.model}`,
      data: { firmware: fw, minimum: min, model: r.identity.model },
    });
  }

  private clock(r: HealthRecord, out: Verdict[]): void {
    if (r.clockOffsetS === undefined) return;
    const isFiring = Math.abs(r.clockOffsetS) > this.cfg.clockOffsetMaxS;
    if (!this.isWanted('clock-offset', 'config', isFiring)) return;
    out.push({
      rule: 'clock-offset',
      kind: 'config',
      isFiring,
      detail: `device clock ${r.clockOffsetS >= 0 ? '+' : ''}${r.clockOffsetS} s from the agent's (limit ${this.cfg.clockOffsetMaxS} s)`,
      data: { clockOffsetS: r.clockOffsetS, limitS: this.cfg.clockOffsetMaxS },
    });
  }

  private channels(r: HealthRecord, out: Verdict[]): void {
    let credentials: { channel: string; polls: number; message: string } | undefined;
    let sawAuth = false;
    for (const channel of ['rest', 'snmp'] as const) {
      const probe = r.reachability[channel];
      if (probe === undefined) continue;
      const others = Object.entries(r.reachability).some(([c, p]) => c !== channel && c !== 'tcp' && p?.ok === true);
      const prev = this.failing.get(channel);
      // REST timing out or answering 5xx is a hung service (the detector's channel-failed, hub/reboot), not a
      // disabled one; SNMP that stops answering is disabled (or its community changed: v2c does not say)
      const isHung =
        channel === 'rest' &&
        (probe.error?.kind === 'timeout' || (probe.error?.kind === 'http' && (probe.error.httpStatus ?? 0) >= 500));
      if (!probe.ok && others && !isHung) {
        const kind = probe.error?.kind ?? 'unknown';
        const polls = prev && (prev.kind === 'auth') === (kind === 'auth') ? prev.polls + 1 : 1;
        this.failing.set(channel, { polls, kind, message: probe.error?.message ?? '' });
      } else {
        this.failing.delete(channel);
      }
      const now = this.failing.get(channel);
      const isAuth = now?.kind === 'auth';
      if (isAuth) sawAuth = true;
      if (isAuth && now && now.polls >= this.cfg.channelFailedPolls) {
        credentials = { channel, polls: now.polls, message: now.message };
      }
      const isFiring = now !== undefined && !isAuth && now.polls >= this.cfg.channelFailedPolls;
      const rule = channel === 'rest' ? 'rest-disabled' : 'snmp-disabled';
      if (!this.isWanted(rule, 'config', isFiring)) continue;
      out.push({
        rule,
        kind: 'config',
        isFiring,
        detail: now
          ? `${channel.toUpperCase()} failing ${now.polls} poll(s) in a row while the device answers otherwise (${now.kind}: ${now.message})`
          : `${channel.toUpperCase()} answers`,
        data: { channel, polls: now?.polls ?? 0, limit: this.cfg.channelFailedPolls, error: now?.kind ?? null },
      });
    }
    if (!this.isWanted('credentials-changed', 'config', credentials !== undefined)) return;
    out.push({
      rule: 'credentials-changed',
      kind: 'config',
      isFiring: credentials !== undefined,
      detail: credentials
        ? `${credentials.channel.toUpperCase()} refuses the agent's credentials ${credentials.polls} poll(s) in a row: ${credentials.message}`
        : sawAuth
          ? 'credentials refused, not yet for long'
          : 'credentials accepted',
      data: credentials ? { ...credentials, limit: this.cfg.channelFailedPolls } : {},
    });
  }

  private rebootsRule(r: HealthRecord, atMs: number, isPlanned: boolean, out: Verdict[]): void {
    if (r.uptimeS === undefined) return;
    if (this.lastUptimeS !== undefined && r.uptimeS + UPTIME_JITTER_S < this.lastUptimeS && !isPlanned) {
      this.reboots.push(atMs);
    }
    this.lastUptimeS = r.uptimeS;
    this.reboots = this.prune(this.reboots, atMs);
    const n = this.reboots.length;
    if (!this.isWanted('unplanned-reboots', 'trend', n >= this.cfg.rebootsPerWindow)) return;
    out.push({
      rule: 'unplanned-reboots',
      kind: 'trend',
      isFiring: n >= this.cfg.rebootsPerWindow,
      detail: `${n} unplanned reboot(s) in the last ${this.cfg.windowMs / 3_600_000} h (watch from ${this.cfg.rebootsPerWindow})`,
      data: { reboots: this.reboots.map((t) => new Date(t).toISOString()), limit: this.cfg.rebootsPerWindow },
    });
  }

  private blipsRule(r: HealthRecord, atMs: number, out: Verdict[]): void {
    const seen = new Set<string>();
    for (const c of r.components) {
      if (!BLIP_KINDS.has(c.kind)) continue;
      const key = `${c.kind}:${c.name}`;
      seen.add(key);
      const since = this.failedSince.get(key);
      if (c.status === 'failed') {
        if (since === undefined) this.failedSince.set(key, atMs);
      } else if (since !== undefined) {
        this.failedSince.delete(key);
        if (c.status === 'ok' && atMs - since <= this.cfg.blipMaxMs)
          this.blips.push({ atMs, component: key, lostMs: atMs - since });
      }
    }
    this.blips = this.blips.filter((b) => atMs - b.atMs < this.cfg.windowMs);
    const n = this.blips.length;
    if (!this.isWanted('component-blips', 'trend', n >= this.cfg.blipsPerWindow)) return;
    out.push({
      rule: 'component-blips',
      kind: 'trend',
      isFiring: n >= this.cfg.blipsPerWindow,
      detail: `${n} short camera/microphone loss(es) in the last ${this.cfg.windowMs / 3_600_000} h (watch from ${this.cfg.blipsPerWindow})`,
      data: {
        blips: this.blips
          .slice(-20)
          .map((b) => ({ at: new Date(b.atMs).toISOString(), component: b.component, lostMs: b.lostMs })),
        limit: this.cfg.blipsPerWindow,
      },
    });
  }

  private temperature(r: HealthRecord, atMs: number, out: Verdict[]): void {
    if (r.temperatureC === undefined) return;
    if (r.temperatureC > this.cfg.temperatureC) this.hot.push(r.temperatureC);
    else this.hot = [];
    const polls = this.hot.length;
    if (polls > this.cfg.temperaturePolls) this.hot = this.hot.slice(-this.cfg.temperaturePolls);
    if (!this.isWanted('temperature-high', 'trend', polls >= this.cfg.temperaturePolls)) return;
    out.push({
      rule: 'temperature-high',
      kind: 'trend',
      isFiring: polls >= this.cfg.temperaturePolls,
      detail: `${r.temperatureC} °C; above ${this.cfg.temperatureC} °C for ${polls} poll(s) in a row (watch from ${this.cfg.temperaturePolls})`,
      data: { at: new Date(atMs).toISOString(), recentC: [...this.hot], thresholdC: this.cfg.temperatureC, polls },
    });
  }

  private callQuality(r: HealthRecord, atMs: number, out: Verdict[]): void {
    const inCall = r.call?.inCall === true;
    if (inCall) {
      this.call ??= { startMs: atMs, worstLossPct: 0, worstJitterMs: 0 };
      this.call.worstLossPct = Math.max(this.call.worstLossPct, r.call?.packetLossPct ?? 0);
      this.call.worstJitterMs = Math.max(this.call.worstJitterMs, r.call?.jitterMs ?? 0);
    } else if (this.call && r.call !== undefined) {
      const c = this.call;
      this.call = undefined;
      if (c.worstLossPct > this.cfg.callLossPct || c.worstJitterMs > this.cfg.callJitterMs) {
        this.badCalls.push({ endMs: atMs, lossPct: c.worstLossPct, jitterMs: c.worstJitterMs });
      }
    }
    this.badCalls = this.badCalls.filter((c) => atMs - c.endMs < this.cfg.windowMs);
    const n = this.badCalls.length;
    if (!this.isWanted('call-quality', 'trend', n >= this.cfg.badCalls)) return;
    out.push({
      rule: 'call-quality',
      kind: 'trend',
      isFiring: n >= this.cfg.badCalls,
      detail: `${n} call(s) with packet loss > ${this.cfg.callLossPct} % or jitter > ${this.cfg.callJitterMs} ms in the last ${
        this.cfg.windowMs / 3_600_000
      } h (watch from ${this.cfg.badCalls})`,
      data: {
        calls: this.badCalls.map((c) => ({
          ended: new Date(c.endMs).toISOString(),
          lossPct: c.lossPct,
          jitterMs: c.jitterMs,
        })),
        limit: this.cfg.badCalls,
      },
    });
  }
}
