/**
 * One REST poll of a Poly Video OS device (poly-devices.md §1.3). Every poll reads identity and uptime
 * (`/rest/system`) and the status list (`/rest/system/status`); the detail reads (microphones, cameras,
 * peripherals) and the call reads (conferences, media stats) run only when the plan asks for them (see
 * `planRestRead`): a full read costs 5-7 requests, a light one 2. `/rest/system` failing fails the poll;
 * a 404 on a secondary endpoint means "not supported by this firmware" and is only noted.
 */
import { DeviceError } from '../../protocols/clients/device-error.ts';
import type { PolyRestClient } from '../../protocols/clients/poly-rest.ts';
import type {
  Cameras,
  Conferences,
  MediaStats,
  Microphones,
  Peripherals,
  SystemInfo,
  SystemStatus,
} from '../../protocols/clients/poly-rest-schemas.ts';

export interface RestObservation {
  system: SystemInfo;
  status?: SystemStatus;
  microphones?: Microphones;
  cameras?: Cameras;
  conferences?: Conferences;
  mediaStats?: MediaStats;
  peripherals?: Peripherals;
  /** Endpoints this firmware does not have (HTTP 404). */
  unsupported: string[];
  /** When microphones/cameras/peripherals were carried over from an earlier poll: when they were read. */
  detailReadAt?: string;
  /** When this whole observation was carried from an earlier poll's read (poll/rest-cadence.ts): when it was read. */
  readAt?: string;
}

/** What one poll reads beyond `/rest/system` and the status list. */
export interface RestReadPlan {
  /** Microphones, cameras, peripherals. */
  detail: boolean;
  /** Conferences (and media stats of the active one). */
  calls: boolean;
}

export const FULL_READ: RestReadPlan = { detail: true, calls: true };

async function optional<T>(obs: RestObservation, path: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof DeviceError && err.kind === 'http' && err.httpStatus === 404) {
      obs.unsupported.push(path);
      return undefined;
    }
    throw err;
  }
}

/** `/rest/system` `state` values that mean "not in a call" (only `ASLEEP` was seen on a device, §1.3). */
const IDLE_STATES: ReadonlySet<string> = new Set(['ASLEEP', 'SLEEP', 'SLEEPING', 'IDLE', 'STANDBY']);

/** Is the device maybe in a call? Unknown `state` values count as maybe (read the conferences). */
export function isMaybeInCall(system: SystemInfo): boolean {
  return system.state === undefined || !IDLE_STATES.has(system.state.toUpperCase());
}

export async function pollRest(
  client: PolyRestClient,
  decide: (system: SystemInfo, status: SystemStatus | undefined) => RestReadPlan = () => FULL_READ,
): Promise<RestObservation> {
  const obs: RestObservation = { system: await client.getSystem(), unsupported: [] };
  const status = await optional(obs, '/rest/system/status', () => client.getSystemStatus());
  if (status) obs.status = status;
  const plan = decide(obs.system, status);
  if (plan.detail) {
    const microphones = await optional(obs, '/rest/audio/microphones', () => client.getMicrophones());
    if (microphones) obs.microphones = microphones;
    const cameras = await optional(obs, '/rest/cameras/near/all', () => client.getCameras());
    if (cameras) obs.cameras = cameras;
  }
  if (plan.calls) {
    const conferences = await optional(obs, '/rest/conferences', () => client.getConferences());
    if (conferences) {
      obs.conferences = conferences;
      const active = conferences.find((c) => c.isActive !== false) ?? conferences[0];
      if (active !== undefined) {
        const stats = await optional(obs, '/rest/conferences/{id}/mediastats', () => client.getMediaStats(active.id));
        if (stats) obs.mediaStats = stats;
      }
    }
  }
  if (plan.detail) {
    const peripherals = await optional(obs, '/rest/current/devicemanagement/devices', () => client.getPeripherals());
    if (peripherals) obs.peripherals = peripherals;
  }
  return obs;
}
