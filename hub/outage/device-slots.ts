/**
 * What the outage module keeps per device, in one map entry: the hot path looks a device up once per record
 * instead of once per fact (ring, live facts, what was shown, history sampling, last answer, dirty mark). With
 * 10k devices, hashing and probing a map per fact was ~7 % of the hub's CPU at nominal load (B2, perf).
 */
import type { RecordRing } from './record-ring.ts';

/** Live facts of a device; lastSeen kept as epoch ms on the hot path, formatted only when read or stored. */
export interface Live {
  lastSeenMs: number;
  agentId: string | null;
  firmware: string | null;
}

export interface DeviceSlot<Shown> {
  readonly serial: string;
  /** Recent records as UTF-8 bytes outside the V8 heap (record-ring.ts), parsed on read. */
  ring: RecordRing | undefined;
  live: Live | undefined;
  /** What its last `device` event showed. */
  shown: Shown | undefined;
  /** lastSeen changed since the dirty list was last taken (the slot is in it once). */
  isDirty: boolean;
  /** When a record of it was last sampled into the stored history (hub clock). */
  lastStoredAtMs: number | undefined;
  /** When it last answered a poll (hub clock at arrival), for the room-network grouping. */
  lastAnsweredAtMs: number;
}

export class DeviceSlots<Shown> {
  private readonly slots = new Map<string, DeviceSlot<Shown>>();
  private dirty: DeviceSlot<Shown>[] = [];

  get(serial: string): DeviceSlot<Shown> | undefined {
    return this.slots.get(serial);
  }

  /** The device's slot, created empty on first use. */
  slotOf(serial: string): DeviceSlot<Shown> {
    let slot = this.slots.get(serial);
    if (slot === undefined) {
      slot = {
        serial,
        ring: undefined,
        live: undefined,
        shown: undefined,
        isDirty: false,
        lastStoredAtMs: undefined,
        lastAnsweredAtMs: Number.NEGATIVE_INFINITY,
      };
      this.slots.set(serial, slot);
    }
    return slot;
  }

  /** Its lastSeen is to be written by the next flush (listed once however often it is marked). */
  markDirty(slot: DeviceSlot<Shown>): void {
    if (slot.isDirty) return;
    slot.isDirty = true;
    this.dirty.push(slot);
  }

  /** The devices marked since the last call, in marking order; their marks are cleared. */
  takeDirty(): DeviceSlot<Shown>[] {
    const taken = this.dirty;
    this.dirty = [];
    for (const slot of taken) slot.isDirty = false;
    return taken;
  }
}
