/**
 * Device ownership at the ingest boundary: every device belongs to one site, and only agents of that site may
 * speak for it. A message naming a serial of another site is refused (FOREIGN_DEVICE). A serial the registry
 * does not know is not registered from an agent's word: it becomes *pending adoption* (PENDING_ADOPTION, no
 * state, no ticket) until an admin adopts or rejects it (adoption-routes.ts), bounded per agent
 * (PENDING_LIMIT); a rejected serial stays refused (REJECTED_DEVICE).
 * With `adoption.unknownDevices: register` (development, tests) unknown serials pass and are registered into
 * the reporting agent's site; a registered device of another site is still refused.
 */
import type { HubConfig } from '../config.ts';
import type { DeviceRegistry } from '../context.ts';
import type { PendingDevices } from './pending.ts';

export const OwnershipReason = {
  FOREIGN_DEVICE: 'FOREIGN_DEVICE',
  PENDING_ADOPTION: 'PENDING_ADOPTION',
  PENDING_LIMIT: 'PENDING_LIMIT',
  REJECTED_DEVICE: 'REJECTED_DEVICE',
} as const;
export type OwnershipReason = (typeof OwnershipReason)[keyof typeof OwnershipReason];

export type OwnershipVerdict = { ok: true } | { ok: false; reason: OwnershipReason; detail: string };

const OK: OwnershipVerdict = { ok: true };

export interface Speaker {
  site: string;
  agentId: string;
}

export class DeviceOwnership {
  private readonly registry: DeviceRegistry;
  private readonly pending: PendingDevices;
  private readonly mode: HubConfig['adoption']['unknownDevices'];

  constructor(registry: DeviceRegistry, pending: PendingDevices, config: Readonly<HubConfig>) {
    this.registry = registry;
    this.pending = pending;
    this.mode = config.adoption.unknownDevices;
  }

  /** May `from` speak for `serial`? Unknown serials are noted as pending (with `model` when the message says). */
  check(from: Speaker, serial: string, model?: string): OwnershipVerdict {
    const device = this.registry.get(serial);
    if (device !== undefined) {
      return device.site === from.site
        ? OK
        : {
            ok: false,
            reason: OwnershipReason.FOREIGN_DEVICE,
            detail: `serial ${serial} belongs to another site; agent ${from.site}/${from.agentId} may not speak for it`,
          };
    }
    if (this.pending.isRejected(serial)) {
      return {
        ok: false,
        reason: OwnershipReason.REJECTED_DEVICE,
        detail: `serial ${serial} was rejected by an admin`,
      };
    }
    if (this.mode === 'register') return OK;
    const outcome = this.pending.note(serial, from.site, from.agentId, model);
    if (outcome === 'limit') {
      return {
        ok: false,
        reason: OwnershipReason.PENDING_LIMIT,
        detail: `agent ${from.site}/${from.agentId} already has the most pending devices allowed; ${serial} ignored`,
      };
    }
    return {
      ok: false,
      reason: outcome === 'rejected' ? OwnershipReason.REJECTED_DEVICE : OwnershipReason.PENDING_ADOPTION,
      detail: `serial ${serial} is not registered: pending adoption by an admin`,
    };
  }

  /**
   * A presence list: refused as a whole when it names a device of another site or a rejected one; unknown
   * serials are noted as pending and left out of the list the hub acts on.
   */
  presenceDevices(from: Speaker, serials: readonly string[]): { ok: true; devices: string[] } | OwnershipVerdict {
    const kept: string[] = [];
    for (const serial of serials) {
      const verdict = this.check(from, serial);
      if (verdict.ok) kept.push(serial);
      else if (verdict.reason === OwnershipReason.FOREIGN_DEVICE || verdict.reason === OwnershipReason.REJECTED_DEVICE)
        return verdict;
    }
    return { ok: true, devices: kept };
  }

  /** May a command about `serial` go to an agent of `site`? (Only agents of the device's site.) */
  mayCommand(site: string, serial: string): OwnershipVerdict {
    const device = this.registry.get(serial);
    if (device?.site === site) return OK;
    if (device === undefined && this.mode === 'register') return OK;
    return {
      ok: false,
      reason: OwnershipReason.FOREIGN_DEVICE,
      detail:
        device === undefined
          ? `serial ${serial} is not registered: no command is sent for it`
          : `serial ${serial} belongs to another site: no command goes to an agent of site ${site}`,
    };
  }
}
