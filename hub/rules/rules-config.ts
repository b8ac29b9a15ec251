/** Thresholds of the drift and early-warning rules (hub config `rules`); each rule's doc line says what it watches. */
import { z } from 'zod';
import { DeviceModel } from '../../protocols/health.ts';

const Version = z.string().regex(/^\d+(\.\d+){0,3}$/, 'expected a version like 4.2.0 or 4.2.0.412233');

export const RulesConfig = z.strictObject({
  enabled: z.boolean().default(true),
  /** Configuration: firmware below this version for the model -> P3. */
  minFirmware: z.partialRecord(DeviceModel, Version).default({}),
  /** Configuration: device clock off from the agent's by more than this -> P3. */
  clockOffsetMaxS: z.number().int().min(1).max(86_400).default(120),
  /** Configuration: REST or SNMP failing this many polls in a row while another channel answers -> P3 (disabled, or credentials changed when the error is an auth error). */
  channelFailedPolls: z.number().int().min(1).max(100).default(3),
  /** Trend: this many unplanned reboots within `windowMs` -> watch. */
  rebootsPerWindow: z.number().int().min(1).max(100).default(3),
  /** Trend: this many short camera/microphone losses (back within `blipMaxMs`) within `windowMs` -> watch. */
  blipsPerWindow: z.number().int().min(1).max(1000).default(5),
  blipMaxMs: z.number().int().min(1000).max(86_400_000).default(300_000),
  /** Trend: temperature above this for `temperaturePolls` polls in a row -> watch (below the detector's `detection.temperatureC`, which degrades the device). */
  temperatureC: z.number().min(0).max(150).default(60),
  temperaturePolls: z.number().int().min(1).max(1000).default(5),
  /** Trend: this many calls within `windowMs` with packet loss above `callLossPct` or jitter above `callJitterMs` -> watch. */
  callLossPct: z.number().min(0).max(100).default(5),
  callJitterMs: z.number().min(0).max(10_000).default(50),
  badCalls: z.number().int().min(1).max(1000).default(3),
  windowMs: z
    .number()
    .int()
    .min(60_000)
    .max(30 * 86_400_000)
    .default(86_400_000),
  /** Customers whose policy turns a trend watch into a P3 ticket too. */
  watchTicketCustomers: z.array(z.string()).default([]),
});
export type RulesConfig = z.infer<typeof RulesConfig>;
