/**
 * One REST poll of a Poly Video OS device (poly-devices.md §1.3): identity and uptime, status list,
 * microphones, cameras, call state with media stats, peripherals. `/rest/system` failing fails the poll;
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
}

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

export async function pollRest(client: PolyRestClient): Promise<RestObservation> {
  const obs: RestObservation = { system: await client.getSystem(), unsupported: [] };
  const status = await optional(obs, '/rest/system/status', () => client.getSystemStatus());
  if (status) obs.status = status;
  const microphones = await optional(obs, '/rest/audio/microphones', () => client.getMicrophones());
  if (microphones) obs.microphones = microphones;
  const cameras = await optional(obs, '/rest/cameras/near/all', () => client.getCameras());
  if (cameras) obs.cameras = cameras;
  const conferences = await optional(obs, '/rest/conferences', () => client.getConferences());
  if (conferences) {
    obs.conferences = conferences;
    const active = conferences.find((c) => c.isActive !== false) ?? conferences[0];
    if (active !== undefined) {
      const stats = await optional(obs, '/rest/conferences/{id}/mediastats', () => client.getMediaStats(active.id));
      if (stats) obs.mediaStats = stats;
    }
  }
  const peripherals = await optional(obs, '/rest/current/devicemanagement/devices', () => client.getPeripherals());
  if (peripherals) obs.peripherals = peripherals;
  return obs;
}
