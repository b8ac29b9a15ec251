/**
 * Redaction of attachments before the hub stores them (architecture.md: secrets never appear in attachments).
 * The agent already redacts with the device secrets it knows; the hub does not know those, so it applies the
 * shared patterns of `protocols/redact.ts`, a few broader ones (any key that contains `password`, `community`,
 * `secret`, `token`; snmpd-style `rocommunity <value>`) and the secrets of its own config.
 * A tar (optionally gzipped) is re-packed with each text entry redacted, using the `tar` package.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header, Pack, Parser, ReadEntry } from 'tar';
import { isProbablyText, MASK, redactText } from '../../protocols/redact.ts';
import type { HubConfig } from '../config.ts';

const KEYISH = `[A-Za-z0-9_.-]*(?:password|passwd|passphrase|secret|community|token|session_?id|api_?key|auth_?key|priv_?key)[A-Za-z0-9_.-]*`;
/** `"snmpCommunity": "value"`, `"adminPassword":"value"`: keys that merely contain a secret word. */
const JSON_KEYISH = new RegExp(String.raw`("${KEYISH}"\s*:\s*")((?:[^"\\]|\\.)*)(")`, 'gi');
/** `snmp.readCommunity=value`, `xsrfToken: value`. */
const KV_KEYISH = new RegExp(String.raw`(\b${KEYISH}\s*[=:]\s*)(?!\*\*\*)([^\s;&,"'<>]+)`, 'gi');
/** snmpd.conf: `rocommunity public default`, `community2 secret`. */
const SNMPD_COMMUNITY = /^(\s*(?:ro|rw)?community6?\s+)(?!\*\*\*)(\S+)/gim;
/** HTTP `Authorization: Bearer xyz` / `Basic xyz`. */
const AUTH_HEADER = /(\bauthorization\s*:\s*(?:bearer|basic)\s+)(?!\*\*\*)(\S+)/gi;

/** Secrets the hub itself knows (its config): agent MQTT passwords, API tokens, SMTP/InfluxDB/webhook secrets. */
export function hubKnownSecrets(config: Readonly<HubConfig>): string[] {
  const out: string[] = [config.api.token, ...config.api.readTokens];
  for (const a of config.agents) if (a.password !== undefined) out.push(a.password);
  if (config.mqtt.password !== undefined) out.push(config.mqtt.password);
  if (config.influx?.password !== undefined) out.push(config.influx.password);
  if (config.notifications.smtp?.password !== undefined) out.push(config.notifications.smtp.password);
  for (const w of config.notifications.webhooks) out.push(w.secret);
  return out.filter((s) => s.length >= 4);
}

/** The shared patterns, then the hub's broader ones. */
export function redactEvidenceText(text: string, knownSecrets: readonly string[] = []): string {
  return redactText(text, knownSecrets)
    .replace(JSON_KEYISH, (_m, a: string, _v: string, c: string) => `${a}${MASK}${c}`)
    .replace(KV_KEYISH, (_m, a: string) => `${a}${MASK}`)
    .replace(SNMPD_COMMUNITY, (_m, a: string) => `${a}${MASK}`)
    .replace(AUTH_HEADER, (_m, a: string) => `${a}${MASK}`);
}

function maskBinary(data: Buffer, knownSecrets: readonly string[]): Buffer {
  let out: Buffer | undefined;
  for (const secret of knownSecrets) {
    const needle = Buffer.from(secret);
    for (let at = data.indexOf(needle); at !== -1; at = data.indexOf(needle, at + needle.length)) {
      out ??= Buffer.from(data);
      out.fill(0x2a, at, at + needle.length);
    }
  }
  return out ?? data;
}

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

/** Pack entries (files and directories only) into a tar with the `tar` package. */
export function packTar(entries: readonly ArchiveEntry[], gzip: boolean): Promise<Buffer> {
  const pack = new Pack({ gzip, portable: true });
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
  for (const e of entries) {
    const isDir = e.type === 'Directory';
    const size = isDir ? 0 : e.data.length;
    const entry = new ReadEntry(
      new Header({
        path: e.path,
        mode: e.mode,
        size,
        mtime: e.mtime,
        type: isDir ? 'Directory' : 'File',
        uid: 0,
        gid: 0,
      }),
    );
    pack.add(entry);
    entry.end(isDir ? Buffer.alloc(0) : e.data);
  }
  pack.end();
  return done;
}

/**
 * Redact one attachment for storage: tar / tar.gz -> each text entry redacted, re-packed (gzipped again when it
 * came gzipped; links and devices dropped); gzipped text and text -> redacted text; other binary -> the known
 * secrets masked byte for byte. Throws when a tar cannot be parsed (the caller must not store it then).
 */
export async function redactAttachment(data: Buffer, knownSecrets: readonly string[] = []): Promise<Buffer> {
  const gzipped = isGzip(data);
  let plain = data;
  if (gzipped) {
    try {
      plain = gunzipSync(data);
    } catch {
      return maskBinary(data, knownSecrets);
    }
  }
  if (isTar(plain)) {
    const entries = await readTarEntries(plain);
    const kept = entries
      .filter((e) => e.type === 'File' || e.type === 'OldFile' || e.type === 'Directory')
      .map((e) => ({
        ...e,
        path: redactEvidenceText(e.path, knownSecrets),
        data: isProbablyText(e.data)
          ? Buffer.from(redactEvidenceText(e.data.toString('utf8'), knownSecrets))
          : maskBinary(e.data, knownSecrets),
      }));
    return packTar(kept, gzipped);
  }
  if (isProbablyText(plain)) {
    const text = Buffer.from(redactEvidenceText(plain.toString('utf8'), knownSecrets));
    return gzipped ? gzipSync(text) : text;
  }
  const masked = maskBinary(plain, knownSecrets);
  if (masked === plain) return data;
  return gzipped ? gzipSync(masked) : masked;
}

/** Text lines of an archive (tar, tar.gz, gzipped text, text); [] for binary or unreadable data. */
export async function archiveLines(data: Buffer): Promise<string[]> {
  try {
    const plain = isGzip(data) ? gunzipSync(data) : data;
    if (isTar(plain)) {
      const entries = await readTarEntries(plain);
      return entries
        .filter((e) => e.type !== 'Directory' && isProbablyText(e.data))
        .flatMap((e) => e.data.toString('utf8').split('\n'));
    }
    return isProbablyText(plain) ? plain.toString('utf8').split('\n') : [];
  } catch {
    return [];
  }
}
