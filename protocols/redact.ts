/**
 * Secret masking for everything that leaves a device: log archives, CLI output, traces.
 * Used by the agent before sending and by the hub again before storing.
 * Masks the known secret values (device passwords, SNMP communities and keys, MQTT password) and
 * patterns: `password=...`, `"password":"..."`, `session_id=...`, `XSRF-TOKEN=...`, `sessionId":"PS...`.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header, Parser, Pax } from 'tar';

export const MASK = '***';

const KEY = `(?:password|passwd|pwd|passphrase|secret|community|auth_?key|priv_?key|api_?key|access_?token|token|session_?id|sessionid|xsrf-token|x-xsrf-token|cookie)`;
/** `"password": "value"` (JSON, any quoting of the key). */
const JSON_PAIR = new RegExp(String.raw`("${KEY}"\s*:\s*")((?:[^"\\]|\\.)*)(")`, 'gi');
/** `password=value`, `password: value`, `XSRF-TOKEN=value;` (stops at whitespace, `;`, `&`, `,`, quote). */
const KV_PAIR = new RegExp(String.raw`(\b${KEY}\b\s*[=:]\s*)(?!\*\*\*)([^\s;&,"'<>]+)`, 'gi');
/** Poly session ids: `PS` + ~48 base64 characters. */
const POLY_SESSION = /\bPS[A-Za-z0-9+/]{30,}={0,2}/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Mask known secrets and secret-looking pairs in a text. Secrets shorter than 4 characters are skipped. */
export function redactText(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  const secrets = [...new Set(knownSecrets.filter((s) => typeof s === 'string' && s.length >= 4))].sort(
    (a, b) => b.length - a.length,
  );
  if (secrets.length > 0) {
    out = out.replace(new RegExp(secrets.map(escapeRegExp).join('|'), 'g'), MASK);
  }
  out = out.replace(JSON_PAIR, (_m, a: string, _v: string, c: string) => `${a}${MASK}${c}`);
  out = out.replace(KV_PAIR, (_m, a: string) => `${a}${MASK}`);
  out = out.replace(POLY_SESSION, MASK);
  return out;
}

/** True when a buffer looks like text (no NUL byte in its first 8 KB). */
export function isProbablyText(data: Buffer): boolean {
  return !data.subarray(0, 8192).includes(0);
}

/** Mask known secrets inside binary data, byte for byte (keeps lengths). */
function redactBinary(data: Buffer, knownSecrets: readonly string[]): Buffer {
  const out = Buffer.from(data);
  for (const secret of knownSecrets) {
    if (secret.length < 4) continue;
    const needle = Buffer.from(secret);
    for (let at = out.indexOf(needle); at !== -1; at = out.indexOf(needle, at + needle.length)) {
      out.fill(0x2a, at, at + needle.length);
    }
  }
  return out;
}

interface TarEntry {
  path: string;
  type: string;
  mode: number;
  mtime: Date;
  data: Buffer;
}

function readTar(archive: Buffer): Promise<TarEntry[]> {
  return new Promise((resolve, reject) => {
    const entries: TarEntry[] = [];
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
    parser.end(archive);
  });
}

function writeTar(entries: readonly TarEntry[]): Buffer {
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
  return Buffer.concat(blocks);
}

function isTar(data: Buffer): boolean {
  return data.length >= 512 && data.subarray(257, 262).toString('latin1') === 'ustar';
}

/**
 * Redact a log archive: a tar (optionally gzipped) has each text entry redacted and is re-packed
 * (gzipped again when it came gzipped); plain text is redacted as text; other binary data has the
 * known secret values masked in place.
 */
export async function redactArchive(data: Buffer, knownSecrets: readonly string[] = []): Promise<Buffer> {
  const gzipped = data.length > 2 && data[0] === 0x1f && data[1] === 0x8b;
  let plain = data;
  if (gzipped) {
    try {
      plain = gunzipSync(data);
    } catch {
      return redactBinary(data, knownSecrets);
    }
  }
  if (isTar(plain)) {
    const entries = await readTar(plain);
    const redacted = entries
      .filter((e) => e.type === 'File' || e.type === 'OldFile' || e.type === 'Directory')
      .map((e) => ({
        ...e,
        type: e.type === 'Directory' ? 'Directory' : 'File',
        data: isProbablyText(e.data)
          ? Buffer.from(redactText(e.data.toString('utf8'), knownSecrets))
          : redactBinary(e.data, knownSecrets),
      }));
    const tar = writeTar(redacted);
    return gzipped ? gzipSync(tar) : tar;
  }
  if (isProbablyText(plain)) {
    const text = Buffer.from(redactText(plain.toString('utf8'), knownSecrets));
    return gzipped ? gzipSync(text) : text;
  }
  const masked = redactBinary(plain, knownSecrets);
  return gzipped ? gzipSync(masked) : masked;
}

/** List the entry names of a tar (optionally gzipped); [] when it is not a tar. */
export async function listArchive(data: Buffer): Promise<string[]> {
  let plain = data;
  if (data[0] === 0x1f && data[1] === 0x8b) plain = gunzipSync(data);
  if (!isTar(plain)) return [];
  return (await readTar(plain)).map((e) => e.path);
}
