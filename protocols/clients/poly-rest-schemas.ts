/**
 * Shapes of the Poly Video OS REST answers the agent reads (poly-devices.md §1.3), as loose zod
 * schemas: unknown fields pass, the fields we read must have the documented type.
 */
import { z } from 'zod';

const Str = z.string().max(2000);

export const LoginResponse = z.looseObject({
  success: z.boolean().optional(),
  reason: Str.optional(),
  session: z.looseObject({ sessionId: z.string().min(1).max(512) }).optional(),
});
export type LoginResponse = z.infer<typeof LoginResponse>;

export const SystemInfo = z.looseObject({
  build: Str.optional(),
  hardwareVersion: Str.optional(),
  lanStatus: z
    .looseObject({ state: Str.optional(), speedMbps: z.number().optional(), duplex: Str.optional() })
    .optional(),
  model: Str.optional(),
  rebootNeeded: z.boolean().optional(),
  serialNumber: Str.optional(),
  softwareVersion: Str.optional(),
  state: Str.optional(),
  systemName: Str.optional(),
  systemTime: z.number().optional(),
  uptime: z.number().min(0).optional(),
});
export type SystemInfo = z.infer<typeof SystemInfo>;

export const SystemStatus = z
  .array(z.looseObject({ name: Str, langtag: Str.optional(), stateList: z.array(Str).max(50) }))
  .max(200);
export type SystemStatus = z.infer<typeof SystemStatus>;

export const Microphones = z
  .array(
    z.looseObject({
      number: z.number().optional(),
      state: Str.optional(),
      typeInString: Str.optional(),
      mute: z.union([z.number(), z.boolean()]).optional(),
    }),
  )
  .max(64);
export type Microphones = z.infer<typeof Microphones>;

export const Cameras = z
  .array(
    z.looseObject({
      cameraIndex: z.number().optional(),
      name: Str.optional(),
      model: Str.optional(),
      connected: z.boolean().optional(),
    }),
  )
  .max(64);
export type Cameras = z.infer<typeof Cameras>;

export const Conferences = z
  .array(z.looseObject({ id: z.union([z.number(), Str]), isActive: z.boolean().optional() }))
  .max(16);
export type Conferences = z.infer<typeof Conferences>;

export const MediaStats = z
  .array(
    z.looseObject({
      mediaDirection: Str.optional(),
      mediaType: Str.optional(),
      jitter: z.number().optional(),
      packetLoss: z.number().optional(),
      percentPacketLoss: z.number().optional(),
      actualBitRate: z.number().optional(),
      latency: z.number().optional(),
    }),
  )
  .max(64);
export type MediaStats = z.infer<typeof MediaStats>;

export const Peripherals = z
  .array(
    z.looseObject({
      deviceCategory: Str.optional(),
      deviceState: Str.optional(),
      deviceType: Str.optional(),
      productName: Str.optional(),
      serialNumber: Str.optional(),
      macAddress: Str.optional(),
      uid: Str.optional(),
    }),
  )
  .max(64);
export type Peripherals = z.infer<typeof Peripherals>;
