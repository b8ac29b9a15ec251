/**
 * Reading and writing tar archives (optionally gzipped) in memory, with the `tar` package's parser and headers.
 * Used wherever a device log archive is opened: redaction (agent and hub), evidence summaries, tests.
 */
import { gzipSync } from 'node:zlib';
import { Header, Parser, Pax } from 'tar';

export interface ArchiveEntry {
  path: string;
  type: string;
  mode: number;
  mtime: Date;
  data: Buffer;
}

export function isGzip(data: Buffer): boolean {
  return data.length > 2 && data[0] === 0x1f && data[1] === 0x8b;
}

export function isTar(data: Buffer): boolean {
  return data.length >= 512 && data.subarray(257, 262).toString('latin1') === 'ustar';
}

/** Entries of a tar (not gzipped); rejects on a malformed archive. */
export function readTarEntries(tar: Buffer): Promise<ArchiveEntry[]> {
  return new Promise((resolve, reject) => {
    const entries: ArchiveEntry[] = [];
    const parser = new Parser({ strict: true });
    parser.on('entry', (entry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () =>
        entries.push({
          path: entry.path,
          type: entry.type,
          mode: entry.mode ?? 0o644,
          mtime: entry.mtime ?? new Date(0),
          data: Buffer.concat(chunks),
        }),
      );
    });
    parser.on('error', reject);
    parser.on('warn', (_code: string, message: string | Error) => reject(new Error(String(message))));
    parser.on('end', () => resolve(entries));
    parser.end(tar);
  });
}

/**
 * A tar of files and directories (other entry types are written as files), with a PAX header for long paths;
 * gzipped when asked.
 */
export function packTar(entries: readonly ArchiveEntry[], gzip = false): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type === 'Directory' ? 'Directory' : 'File';
    const size = type === 'File' ? entry.data.length : 0;
    const header = new Header({ path: entry.path, mode: entry.mode, size, mtime: entry.mtime, type, uid: 0, gid: 0 });
    const block = Buffer.alloc(512);
    if (header.encode(block, 0)) {
      blocks.push(new Pax({ path: entry.path, mtime: entry.mtime, size }).encode());
      header.encode(block, 0);
    }
    blocks.push(block);
    if (size > 0) {
      blocks.push(entry.data);
      const pad = (512 - (size % 512)) % 512;
      if (pad > 0) blocks.push(Buffer.alloc(pad));
    }
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return gzip ? gzipSync(tar) : tar;
}
