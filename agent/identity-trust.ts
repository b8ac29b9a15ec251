/**
 * Trust on first use for a device identity (the REST certificate, the SSH host key), one store per channel
 * in `<dataDir>/<file>`, and the one rule that lets an identity change:
 *
 * - the first fingerprint seen is remembered; the same one again is trusted;
 * - a different one is refused (no credentials are sent) and reported once as an event, UNLESS the agent
 *   itself saw the device reboot (its uptime went back: `RebootLedger.rebootSeen`) after it last verified
 *   the old identity, and not longer ago than REBOOT_WINDOW_MS. A timeout, a refused TCP connect or a
 *   dropped reply is NOT a reboot: an on-path attacker can cause those at will, but cannot reset uptime
 *   read over a channel it does not control;
 * - before refusing, the caller may look for reboot evidence right now (`seek`: e.g. a fresh SNMP sysUpTime),
 *   so a real reboot that changed the certificate is accepted in the same poll, with one `accepted` event;
 * - an admin can accept a new fingerprint (command `accept-identity`): it is pinned from then on.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DeviceError } from '../protocols/clients/device-error.ts';
import type { Clock } from '../protocols/clock.ts';

export type IdentityChannel = 'rest' | 'ssh';

/** A reboot seen longer ago than this no longer allows an identity change. */
export const REBOOT_WINDOW_MS = 10 * 60_000;

export interface KnownIdentity {
  fingerprint256: string;
  firstSeen: string;
  lastChanged?: string;
  /** Why the current fingerprint replaced an older one. */
  acceptedBy?: 'reboot' | 'admin';
}

export interface IdentityChange {
  serial: string;
  channel: IdentityChannel;
  previous: string;
  next: string;
  accepted: boolean;
  /** Set when accepted. */
  by?: 'reboot' | 'admin';
}

/** Reboots the agent saw (uptime reset), ordered against identity verifications by one counter. */
export class RebootLedger {
  private seq = 0;
  private readonly reboots = new Map<string, { seq: number; atMs: number }>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  tick(): number {
    this.seq += 1;
    return this.seq;
  }

  /** The device's uptime went back: it rebooted (seen by the agent itself, not inferred from a failure). */
  rebootSeen(serial: string): void {
    this.reboots.set(serial, { seq: this.tick(), atMs: this.clock.now() });
  }

  /** A reboot seen after the moment `sinceSeq` and within REBOOT_WINDOW_MS. */
  rebootSince(serial: string, sinceSeq: number): boolean {
    const seen = this.reboots.get(serial);
    return seen !== undefined && seen.seq > sinceSeq && this.clock.now() - seen.atMs <= REBOOT_WINDOW_MS;
  }
}

export interface IdentityStoreOptions {
  dataDir: string;
  file: string;
  channel: IdentityChannel;
  ledger: RebootLedger;
  onChange: (change: IdentityChange) => void;
  /** ISO time for the file. */
  now: () => string;
}

const WHAT: Record<IdentityChannel, string> = { rest: 'certificate', ssh: 'host key' };

export class IdentityStore {
  private readonly options: IdentityStoreOptions;
  private readonly path: string;
  private known: Record<string, KnownIdentity> = {};
  /** When each device's identity was last verified (ledger counter); 0 = not by this process. */
  private readonly verifiedSeq = new Map<string, number>();
  /** Fingerprints already reported as refused, so one change gives one event, not one per poll. */
  private readonly reported = new Map<string, string>();

  constructor(options: IdentityStoreOptions) {
    this.options = options;
    this.path = join(options.dataDir, options.file);
  }

  get channel(): IdentityChannel {
    return this.options.channel;
  }

  load(): void {
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as unknown;
      this.known = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, KnownIdentity>) : {};
    } catch {
      this.known = {};
    }
  }

  private save(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.known, null, 1)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
  }

  fingerprintOf(serial: string): string | undefined {
    const known = this.known[serial];
    return typeof known?.fingerprint256 === 'string' ? known.fingerprint256 : undefined;
  }

  compare(serial: string, fingerprint: string): 'new' | 'trusted' | 'changed' {
    const known = this.fingerprintOf(serial);
    if (known === undefined) return 'new';
    return known === fingerprint ? 'trusted' : 'changed';
  }

  private remember(serial: string, fingerprint: string, by?: 'reboot' | 'admin'): void {
    const before = this.known[serial];
    const entry: KnownIdentity = { fingerprint256: fingerprint, firstSeen: before?.firstSeen ?? this.options.now() };
    if (by) {
      entry.lastChanged = this.options.now();
      entry.acceptedBy = by;
    }
    this.known[serial] = entry;
    this.save();
    this.reported.delete(serial);
    this.verifiedSeq.set(serial, this.options.ledger.tick());
  }

  /** Accept or refuse now, with what is known; a refusal of a change is reported once. */
  check(serial: string, fingerprint: string): DeviceError | undefined {
    const verdict = this.compare(serial, fingerprint);
    if (verdict === 'trusted') {
      this.verifiedSeq.set(serial, this.options.ledger.tick());
      return undefined;
    }
    if (verdict === 'new') {
      this.remember(serial, fingerprint);
      return undefined;
    }
    const previous = this.fingerprintOf(serial) ?? '';
    const { channel } = this.options;
    if (this.options.ledger.rebootSince(serial, this.verifiedSeq.get(serial) ?? 0)) {
      this.remember(serial, fingerprint, 'reboot');
      this.options.onChange({ serial, channel, previous, next: fingerprint, accepted: true, by: 'reboot' });
      return undefined;
    }
    if (this.reported.get(serial) !== fingerprint) {
      this.reported.set(serial, fingerprint);
      this.options.onChange({ serial, channel, previous, next: fingerprint, accepted: false });
    }
    return new DeviceError(
      channel === 'rest' ? 'tls' : 'ssh',
      `${channel === 'rest' ? 'tls' : 'ssh'}: ${WHAT[channel]} changed (was ${previous}, now ${fingerprint}) without a reboot being seen; refused (tofu), no credentials sent`,
    );
  }

  /**
   * Like `check`, but a change not yet covered by a seen reboot first runs `seek` (look for reboot evidence
   * now, e.g. read sysUpTime over SNMP) and is decided after it. `seek` must not throw.
   */
  async checkWithEvidence(
    serial: string,
    fingerprint: string,
    seek: (() => Promise<void>) | undefined,
  ): Promise<DeviceError | undefined> {
    const needsEvidence =
      seek !== undefined &&
      this.compare(serial, fingerprint) === 'changed' &&
      !this.options.ledger.rebootSince(serial, this.verifiedSeq.get(serial) ?? 0);
    if (needsEvidence) {
      try {
        await seek();
      } catch {
        // no evidence: decided below as a change without a reboot
      }
    }
    return this.check(serial, fingerprint);
  }

  /** Admin action (`accept-identity`): pin this fingerprint for the device from now on. */
  accept(serial: string, fingerprint: string): { previous: string | null } {
    const previous = this.fingerprintOf(serial) ?? null;
    this.remember(serial, fingerprint, 'admin');
    return { previous };
  }

  /** Operator action: forget a device's identity so the next one is trusted on first use. */
  forget(serial: string): void {
    delete this.known[serial];
    this.verifiedSeq.delete(serial);
    this.save();
  }
}
