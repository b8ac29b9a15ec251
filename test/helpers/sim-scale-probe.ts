/** Child-process probe: start a fleet of N devices, print {startMs, rssMB} as JSON, stop. Run with `node --import tsx`. */
import { createFleet } from '../../simulator/fleet.ts';

const devices = Number(process.argv[2] ?? 12);
const t0 = Date.now();
const fleet = createFleet({ devices, seed: 1 });
await fleet.start();
const startMs = Date.now() - t0;
const rssMB = Math.round(process.memoryUsage().rss / 1e6);
await fleet.stop();
process.stdout.write(`${JSON.stringify({ devices, startMs, rssMB })}\n`);
