/**
 * Which TLS certificate each device may present (poly-devices.md §1.1: self-signed, and a reboot
 * changes it).
 *
 * - `tofu` (default): the first fingerprint seen is remembered in `<dataDir>/known-certs.json`. A
 *   different one is refused (probe error `tls`, event `certificate-changed`, no credentials sent),
 *   UNLESS the agent saw the device reboot (uptime reset) since it last verified the old certificate
 *   (see identity-trust.ts): then the new one is accepted once, remembered, and reported. A timeout or a
 *   failed connect never opens that window. An admin can accept a new one (`accept-identity`).
 * - `pinned`: only the configured fingerprint; anything else is a `tls` error.
 * - `insecure`: any certificate (only when configured); the fingerprint is still recorded as evidence.
 */
import type { AgentDevice } from '../protocols/agent-config.ts';
import { DeviceError } from '../protocols/clients/device-error.ts';
import { type IdentityChange, IdentityStore, type RebootLedger } from './identity-trust.ts';

export type CertChange = IdentityChange;

export type CertVerdict = 'trusted' | 'new' | 'changed' | 'pinned-mismatch' | 'insecure';

export interface CertTrustOptions {
  dataDir: string;
  ledger: RebootLedger;
  onChange: (change: CertChange) => void;
  now: () => string;
}

export class CertTrustStore {
  readonly store: IdentityStore;

  constructor(options: CertTrustOptions) {
    this.store = new IdentityStore({ ...options, file: 'known-certs.json', channel: 'rest' });
  }

  load(): void {
    this.store.load();
  }

  fingerprintOf(serial: string): string | undefined {
    return this.store.fingerprintOf(serial);
  }

  /** Check without learning (diagnostics). */
  verdict(device: AgentDevice, fingerprint: string): CertVerdict {
    const tls = device.rest?.tls;
    if (tls?.mode === 'insecure') return 'insecure';
    if (tls?.mode === 'pinned')
      return tls.fingerprint256?.toUpperCase() === fingerprint.toUpperCase() ? 'trusted' : 'pinned-mismatch';
    return this.store.compare(device.serial, fingerprint);
  }

  private configured(device: AgentDevice, fingerprint: string): DeviceError | undefined | 'tofu' {
    const verdict = this.verdict(device, fingerprint);
    if (verdict === 'insecure') return undefined;
    if (verdict === 'pinned-mismatch')
      return new DeviceError('tls', `tls: certificate ${fingerprint} does not match the pinned fingerprint`);
    if (device.rest?.tls.mode === 'pinned') return undefined;
    return 'tofu';
  }

  /** The certificate check with what is known now: undefined = go ahead. */
  check(device: AgentDevice, fingerprint: string): DeviceError | undefined {
    const decided = this.configured(device, fingerprint);
    return decided === 'tofu' ? this.store.check(device.serial, fingerprint) : decided;
  }

  /** The check handed to the REST client: a change first looks for reboot evidence (`seek`). */
  checkWithEvidence(
    device: AgentDevice,
    fingerprint: string,
    seek: (() => Promise<void>) | undefined,
  ): DeviceError | undefined | Promise<DeviceError | undefined> {
    const decided = this.configured(device, fingerprint);
    return decided === 'tofu' ? this.store.checkWithEvidence(device.serial, fingerprint, seek) : decided;
  }

  /** Operator action: forget a device's certificate so the next one is trusted on first use. */
  forget(serial: string): void {
    this.store.forget(serial);
  }
}
