/**
 * The recent health records of one device as UTF-8 bytes in one buffer outside the V8 heap, in observedAt order
 * (replayed records arrive late and are put in their place).
 *
 * Why bytes and not strings: the hub keeps `recentRecordsPerDevice` records of every device (10k devices x 10 x
 * ~1 KB). Kept as JS strings, every record outlived its first scavenge and was copied twice (to the survivor
 * space, then to the old generation): ~70 % of what the hub's ingest kept alive per record, and most of each
 * scavenge's work. Copied into a slot of this buffer, the record's text dies young; only the small `observedAt`
 * string stays. A device's records are about the same size, so the buffer has one fixed-size slot per record
 * (the size grows when a larger record arrives); a record over BIG_BYTES is kept as text instead (rare: a buffer
 * of slots that size would be mostly empty).
 */

/** Records larger than this are kept as strings (a slot of this size per record would waste memory). */
export const BIG_BYTES = 16 * 1024;
/**
 * Slots allocated with the first record (the default ring of 10 in one go: a ring that grows while the fleet
 * reports would allocate again for every device at the same time). Larger rings double from here.
 */
const FIRST_SLOTS = 16;
/** Slots are sized in steps of this many bytes, with a quarter of room for records that grow a little. */
const SLOT_STEP = 128;

export class RecordRing {
  private readonly capacity: number;
  private arena: Buffer | undefined;
  private slotBytes = 0;
  /** Slots allocated in the arena (grows by doubling up to `capacity`). */
  private slots = 0;
  /** Slot of each entry, oldest first. */
  private readonly order: number[] = [];
  /** Per slot: bytes used (-1: the record is in `big`), observedAt, the text of a big record. */
  private readonly lengths: number[] = [];
  private readonly observed: string[] = [];
  private readonly big: Array<string | undefined> = [];

  /** `capacity`: how many records are kept (the oldest goes when one more arrives). */
  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
  }

  get size(): number {
    return this.order.length;
  }

  /**
   * Keep a record observed at `observedAt` (ISO): its JSON text, or the same text as UTF-8 bytes (copied, not
   * re-encoded: the MQTT payload). The oldest record goes when the ring is full.
   */
  push(observedAt: string, json: string | Buffer): void {
    let at = this.order.length;
    // Usually the newest: appended. A late (replayed) record goes in front of the newer ones.
    while (at > 0 && this.observed[this.order[at - 1]!]! > observedAt) at--;
    let slot = this.order.length;
    if (slot >= this.capacity) {
      // Full: the oldest goes - the late record itself when it is older than every record kept.
      if (at === 0) return;
      slot = this.order.shift()!;
      at--;
    }
    this.observed[slot] = observedAt;
    this.big[slot] = undefined;
    if (!this.writeSlot(slot, json)) {
      const bytes = typeof json === 'string' ? Buffer.byteLength(json) : json.length;
      if (bytes > BIG_BYTES) {
        this.lengths[slot] = -1;
        this.big[slot] = typeof json === 'string' ? json : json.toString('utf8');
      } else {
        this.grow(slot, bytes);
        this.writeSlot(slot, json);
      }
    }
    if (at === this.order.length) this.order.push(slot);
    else this.order.splice(at, 0, slot);
  }

  /** The records' JSON texts, newest first. */
  textsNewestFirst(): string[] {
    const out: string[] = [];
    for (let i = this.order.length - 1; i >= 0; i--) out.push(this.text(this.order[i]!));
    return out;
  }

  private text(slot: number): string {
    const n = this.lengths[slot]!;
    if (n < 0) return this.big[slot]!;
    const start = slot * this.slotBytes;
    return this.arena!.toString('utf8', start, start + n);
  }

  /** Writes `json` into its slot; false when it does not fit (nothing usable written). */
  private writeSlot(slot: number, json: string | Buffer): boolean {
    // UTF-8 takes at least one byte per UTF-16 unit: longer strings cannot fit.
    if (this.arena === undefined || slot >= this.slots || json.length > this.slotBytes) return false;
    const start = slot * this.slotBytes;
    if (typeof json !== 'string') {
      this.lengths[slot] = json.copy(this.arena, start);
      return true;
    }
    const written = this.arena.write(json, start, this.slotBytes, 'utf8');
    // `write` stops before a character that does not fit: a slot filled to its last 3 bytes may hold a cut text.
    if (written > this.slotBytes - 4 && Buffer.byteLength(json) !== written) return false;
    this.lengths[slot] = written;
    return true;
  }

  /** A new arena with room for slot `slot` and a record of `bytes`; the live records are copied over. */
  private grow(slot: number, bytes: number): void {
    const slotBytes = Math.max(this.slotBytes, Math.ceil((bytes * 1.25) / SLOT_STEP) * SLOT_STEP, SLOT_STEP);
    let slots = Math.max(this.slots, Math.min(this.capacity, FIRST_SLOTS));
    while (slots <= slot) slots = Math.min(this.capacity, slots * 2);
    // Touched now (filled): the slots are written one per poll, and a fresh page faults on its first write - at a
    // 10-s poll each device would pay that on every record of its first `capacity` polls (B2: ~2 % of the hub's CPU
    // in the first minutes) instead of once here, with the device's first record.
    const next = Buffer.allocUnsafeSlow(slots * slotBytes).fill(0);
    for (const s of this.order) {
      const n = this.lengths[s]!;
      if (n > 0) this.arena!.copy(next, s * slotBytes, s * this.slotBytes, s * this.slotBytes + n);
    }
    this.arena = next;
    this.slotBytes = slotBytes;
    this.slots = slots;
  }
}
