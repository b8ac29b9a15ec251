/** Simulated calls: far sites, speed, and quality that varies with seeded noise and the network-loss fault. */
import type { Prng } from './prng.ts';

export interface CallQuality {
  /** Percent packet loss (audio and video), 0..100. */
  lossPct: number;
  jitterMs: number;
  latencyMs: number;
}

export interface SimCall {
  id: number;
  confId: number;
  startedAt: number;
  farSiteName: string;
  farSiteNumber: string;
  speedKbps: number;
  direction: 'incoming' | 'outgoing';
  quality: CallQuality;
  packetsRx: number;
  packetsLostRx: number;
}

const FAR_SITES = ['HQ-Boardroom', 'Lab-Huddle-2', 'Warsaw-Room-101', 'NYC-Exec', 'Berlin-Focus', 'Remote-Bridge'];

export function newCall(prng: Prng, id: number, now: number, farSiteName?: string): SimCall {
  return {
    id,
    confId: id,
    startedAt: now,
    farSiteName: farSiteName ?? prng.pick(FAR_SITES),
    farSiteNumber: `10.${prng.int(0, 255)}.${prng.int(0, 255)}.${prng.int(1, 254)}`,
    speedKbps: prng.pick([1024, 1920, 2048, 4096]),
    direction: prng.next() < 0.5 ? 'incoming' : 'outgoing',
    quality: { lossPct: 0, jitterMs: 0, latencyMs: 0 },
    packetsRx: 0,
    packetsLostRx: 0,
  };
}

/**
 * Re-roll a call's quality for one tick: base loss 0..0.5 % with 5 % chance of a 2..8 % spike (or a fixed
 * `baseLossPct`), plus the network-loss fraction as percent; packets counted for `tickMs` at the call speed.
 */
export function rollQuality(
  prng: Prng,
  call: SimCall,
  lossFraction: number,
  baseLossPct: number | undefined,
  tickMs: number,
): void {
  const spike = prng.next() < 0.05 ? 2 + prng.next() * 6 : 0;
  const base = baseLossPct ?? Math.round((prng.next() * 0.5 + spike) * 100) / 100;
  const faultLoss = lossFraction * 100;
  call.quality = {
    lossPct: Math.min(100, Math.round((base + faultLoss) * 100) / 100),
    jitterMs: prng.int(2, 25) + Math.round(faultLoss / 4),
    latencyMs: prng.int(20, 150),
  };
  const packets = Math.round((call.speedKbps * 1000 * (tickMs / 1000)) / 8 / 1200);
  call.packetsRx += packets;
  call.packetsLostRx += Math.round((packets * call.quality.lossPct) / 100);
}
