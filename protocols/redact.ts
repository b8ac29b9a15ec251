/**
 * Secret masking for everything that leaves a device: log archives, CLI output, traces.
 * Used by the agent before sending and by the hub again before storing.
 * Masks the known secret values (device passwords, SNMP communities and keys, MQTT password) and
 * patterns: `password=...`, `"password":"..."`, `session_id=...`, `XSRF-TOKEN=...`, `sessionId":"PS...`.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { isGzip, isTar, packTar, readTarEntries } from './tar-archive.ts';

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

/** Mask known secrets inside binary data, byte for byte (keeps lengths); the same buffer when none is found. */
export function redactBinary(data: Buffer, knownSecrets: readonly string[]): Buffer {
  let out: Buffer | undefined;
  for (const secret of knownSecrets) {
    if (secret.length < 4) continue;
    const needle = Buffer.from(secret);
    for (let at = data.indexOf(needle); at !== -1; at = data.indexOf(needle, at + needle.length)) {
      out ??= Buffer.from(data);
      out.fill(0x2a, at, at + needle.length);
    }
  }
  return out ?? data;
}

/**
 * Redact a log archive: a tar (optionally gzipped) has each text entry and entry name redacted and is re-packed
 * (gzipped again when it came gzipped; links and devices are dropped); text is redacted as text; other binary
 * data has the known secret values masked in place. Rejects when a tar cannot be parsed (never keep it then).
 * `redact` is the text redactor: the agent uses `redactText`, the hub adds broader patterns.
 */
export async function redactArchive(
  data: Buffer,
  knownSecrets: readonly string[] = [],
  redact: (text: string, knownSecrets: readonly string[]) => string = redactText,
): Promise<Buffer> {
  const gzipped = isGzip(data);
  let plain = data;
  if (gzipped) {
    try {
      plain = gunzipSync(data);
    } catch {
      return redactBinary(data, knownSecrets);
    }
  }
  if (isTar(plain)) {
    const entries = await readTarEntries(plain);
    const redacted = entries
      .filter((e) => e.type === 'File' || e.type === 'OldFile' || e.type === 'Directory')
      .map((e) => ({
        ...e,
        path: redact(e.path, knownSecrets),
        data: isProbablyText(e.data)
          ? Buffer.from(redact(e.data.toString('utf8'), knownSecrets))
          : redactBinary(e.data, knownSecrets),
      }));
    return packTar(redacted, gzipped);
  }
  if (isProbablyText(plain)) {
    const text = Buffer.from(redact(plain.toString('utf8'), knownSecrets));
    return gzipped ? gzipSync(text) : text;
  }
  const masked = redactBinary(plain, knownSecrets);
  if (masked === plain) return data;
  return gzipped ? gzipSync(masked) : masked;
}

/** List the entry names of a tar (optionally gzipped); [] when it is not a tar. */
export async function listArchive(data: Buffer): Promise<string[]> {
  const plain = isGzip(data) ? gunzipSync(data) : data;
  if (!isTar(plain)) return [];
  return (await readTarEntries(plain)).map((e) => e.path);
}
