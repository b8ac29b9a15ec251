/** Safe remote reboot policy (hub config `remoteReboot`): off unless a customer's policy is listed. */
import { z } from 'zod';

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM');

export const RebootPolicy = z.strictObject({
  customer: z.string().min(1),
  /** Local time window (timezone below) in which automatic reboots are allowed; may cross midnight. */
  allowedFrom: HHMM.default('01:00'),
  allowedTo: HHMM.default('05:00'),
});
export type RebootPolicy = z.infer<typeof RebootPolicy>;

export const RemoteRebootConfig = z.strictObject({
  /** Customers whose policy allows automatic reboots. Empty (default): never automatic. */
  policies: z.array(RebootPolicy).default([]),
  timezone: z.string().default('Europe/Warsaw'),
  /** At most one automatic reboot per device within this time. */
  minIntervalMs: z.number().int().min(60_000).default(86_400_000),
  /** REST hung (timeout or 5xx) while SNMP or TCP answers this many polls in a row -> a reboot is considered. */
  hungPolls: z.number().int().min(1).max(100).default(3),
  /** How long to wait for the device to answer REST again after the reboot. */
  recoveryTimeoutMs: z.number().int().min(10_000).default(900_000),
  commandTimeoutMs: z.number().int().min(1000).max(600_000).default(60_000),
});
export type RemoteRebootConfig = z.infer<typeof RemoteRebootConfig>;
