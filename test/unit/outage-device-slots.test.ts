import { describe, expect, it } from 'vitest';
import { DeviceSlots } from '../../hub/outage/device-slots.ts';

describe('DeviceSlots (the outage module per device, one map entry)', () => {
  it('creates a slot once and returns the same object after', () => {
    const slots = new DeviceSlots<{ n: number }>();
    expect(slots.get('A')).toBeUndefined();
    const a = slots.slotOf('A');
    a.lastStoredAtMs = 5;
    expect(slots.slotOf('A')).toBe(a);
    expect(slots.get('A')?.lastStoredAtMs).toBe(5);
    expect(a.lastAnsweredAtMs).toBe(Number.NEGATIVE_INFINITY);
  });

  it('lists a device marked dirty once per take, in marking order, and clears the marks', () => {
    const slots = new DeviceSlots<never>();
    const a = slots.slotOf('A');
    const b = slots.slotOf('B');
    slots.markDirty(b);
    slots.markDirty(a);
    slots.markDirty(b);
    expect(slots.takeDirty().map((s) => s.serial)).toEqual(['B', 'A']);
    expect(a.isDirty).toBe(false);
    expect(slots.takeDirty()).toEqual([]);
    // marked again after a take (a failed flush's retry, the next record): listed again
    slots.markDirty(a);
    expect(slots.takeDirty().map((s) => s.serial)).toEqual(['A']);
  });
});
