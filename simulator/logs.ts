/**
 * `GET /rest/system/logs`: a gzip'd tar archive of plausible log files built from the device's history
 * (boots, faults, logins, calls). The real archive layout and line format are unknown [UNKNOWN]; file names and
 * the logcat-like line format here are a [GUESS], so consumers should treat the archive as opaque.
 */
import { Header, Pack, ReadEntry } from 'tar';
import type { SimDevice } from './device.ts';
import type { HistoryEvent } from './history.ts';

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export function formatLine(e: HistoryEvent): string {
  return `${stamp(e.at)} ${e.level}/${e.tag}: ${e.message}`;
}

/** File name -> content, for the device's current history. */
export function logFiles(d: SimDevice): Map<string, string> {
  const id = d.identity;
  const byLog = new Map<HistoryEvent['log'], string[]>([
    ['system', []],
    ['hardware', []],
    ['call', []],
    ['security', []],
  ]);
  for (const e of d.history) byLog.get(e.log)?.push(formatLine(e));
  const info = [
    `model=${id.model}`,
    `serial=${id.serial}`,
    `softwareVersion=${id.softwareVersion}`,
    `build=${id.build}`,
    `systemName=${id.systemName}`,
    `mac=${id.mac}`,
    `uptimeS=${Math.round(d.uptimeS())}`,
    `collectedAt=${new Date(d.now()).toISOString()}`,
  ];
  const files = new Map<string, string>();
  files.set('logs/deviceinfo.txt', `${info.join('\n')}\n`);
  for (const [log, lines] of byLog) files.set(`logs/${log}.log`, lines.length > 0 ? `${lines.join('\n')}\n` : '');
  return files;
}

/** The archive bytes (tar, gzip-compressed: starts with 1f 8b). */
export async function buildLogArchive(d: SimDevice): Promise<Buffer> {
  const pack = new Pack({ gzip: true, portable: true });
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  const mtime = new Date(d.now());
  for (const [path, text] of logFiles(d)) {
    const data = Buffer.from(text, 'utf8');
    const entry = new ReadEntry(
      new Header({ path, mode: 0o644, size: data.length, mtime, type: 'File', uid: 0, gid: 0 }),
    );
    pack.add(entry);
    entry.end(data);
  }
  pack.end();
  await done;
  return Buffer.concat(chunks);
}
