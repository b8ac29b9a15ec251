/**
 * Which TLS certificate each device may present (poly-devices.md §1.1: self-signed, and a reboot
 * changes it).
 *
 * - `tofu` (default): the first fingerprint seen is remembered in `<dataDir>/known-certs.json`. A
 *   different one is refused (probe error `tls`, event `certificate-changed`, no credentials sent),
 *   UNLESS the device was just seen down or rebooting (the poller calls `expectChange`): then the new
 *   certificate is accepted once, remembered, and reported as a `certificate-changed` event.
 * - `pinned`: only the configured fingerprint; anything else is a `tls` error.
 * - `insecure`: any certificate (only when configured); the fingerprint is still recorded as evidence.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentDevice } from '../protocols/agent-config.ts';
import { DeviceError } from '../protocols/clients/device-error.ts';

export interface KnownCert {
  fingerprint256: string;
  firstSeen: string;
  lastChanged?: string;
}

export interface CertChange {
  serial: string;
  previous: string;
  next: string;
  accepted: boolean;
}

export class CertTrustStore {
  private readonly file: string;
  private known: Record<string, KnownCert> = {};
  private readonly expecting = new Set<string>();
  /** Fingerprints already reported as refused, so one change gives one event, not one per poll. */
  private readonly reported = new Map<string, string>();
  private readonly onChange: (change: CertChange) => void;
  private readonly now: () => string;

  constructor(dataDir: string, onChange: (change: CertChange) => void, now: () => string) {
    this.file = join(dataDir, 'known-certs.json');
    this.onChange = onChange;
    this.now = now;
  }

  load(): void {
    try {
      this.known = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, KnownCert>;
    } catch {
      this.known = {};
    }
  }

  private save(): void {
    mkdirSync(join(this.file, '..'), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.known, null, 1)}\n`);
    renameSync(tmp, this.file);
  }

  fingerprintOf(serial: string): string | undefined {
    return this.known[serial]?.fingerprint256;
  }

  /** The device was seen down or rebooting: its next new certificate is accepted (and reported). */
  expectChange(serial: string): void {
    this.expecting.add(serial);
  }

  /** A REST poll succeeded: the reboot window is over. */
  settled(serial: string): void {
    this.expecting.delete(serial);
  }

  /** Check without learning (diagnostics). */
  verdict(device: AgentDevice, fingerprint: string): 'trusted' | 'new' | 'changed' | 'pinned-mismatch' | 'insecure' {
    const tls = device.rest?.tls;
    if (tls?.mode === 'insecure') return 'insecure';
    if (tls?.mode === 'pinned')
      return tls.fingerprint256?.toUpperCase() === fingerprint.toUpperCase() ? 'trusted' : 'pinned-mismatch';
    const known = this.known[device.serial];
    if (!known) return 'new';
    return known.fingerprint256 === fingerprint ? 'trusted' : 'changed';
  }

  /** The certificate check handed to the REST client: undefined = go ahead. */
  check(device: AgentDevice, fingerprint: string): DeviceError | undefined {
    const verdict = this.verdict(device, fingerprint);
    switch (verdict) {
      case 'trusted':
      case 'insecure':
        return undefined;
      case 'new':
        this.known[device.serial] = { fingerprint256: fingerprint, firstSeen: this.now() };
        this.save();
        return undefined;
      case 'pinned-mismatch':
        return new DeviceError('tls', `tls: certificate ${fingerprint} does not match the pinned fingerprint`);
      case 'changed': {
        const previous = this.known[device.serial]?.fingerprint256 ?? '';
        if (this.expecting.has(device.serial)) {
          this.known[device.serial] = {
            fingerprint256: fingerprint,
            firstSeen: this.known[device.serial]?.firstSeen ?? this.now(),
            lastChanged: this.now(),
          };
          this.save();
          this.expecting.delete(device.serial);
          this.reported.delete(device.serial);
          this.onChange({ serial: device.serial, previous, next: fingerprint, accepted: true });
          return undefined;
        }
        if (this.reported.get(device.serial) !== fingerprint) {
          this.reported.set(device.serial, fingerprint);
          this.onChange({ serial: device.serial, previous, next: fingerprint, accepted: false });
        }
        return new DeviceError(
          'tls',
          `tls: certificate changed (was ${previous}, now ${fingerprint}) without a reboot being seen; refused (tofu)`,
        );
      }
    }
  }

  /** Operator action: forget a device's certificate so the next one is trusted on first use. */
  forget(serial: string): void {
    delete this.known[serial];
    this.save();
  }
}
