import { describe, expect, it } from 'vitest';
import { isReboot } from '../../agent/device-poller.ts';

describe('reboot detection from uptime (the agent then accepts the new certificate once)', () => {
  it('uptime going backwards is a reboot, even for a device that was up only seconds', () => {
    expect(isReboot(1, 5, 6)).toBe(true);
    expect(isReboot(2, 3600, 3610)).toBe(true);
  });
  it('uptime that grew far less than the time that passed is a reboot (rebooted between polls)', () => {
    expect(isReboot(100, 90, 700)).toBe(true);
  });
  it('normal growth and small jitter are not reboots', () => {
    expect(isReboot(110, 100, 110)).toBe(false);
    expect(isReboot(99, 100, 110)).toBe(false);
    expect(isReboot(0.5, 0.66, 1.66)).toBe(false);
  });
});
