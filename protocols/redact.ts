/**
 * Secret masking for everything that leaves a device: log archives, CLI output, traces.
 * Used by the agent before sending and by the hub again before storing.
 * Masks the known secret values (device passwords, SNMP communities and keys, MQTT password) of any length,
 * in their URL-encoded, JSON-escaped and base64 forms too (where: see secret-forms.ts), and patterns:
 * `password=...`, `"password":"..."`, `session_id=...`, `XSRF-TOKEN=...`, `sessionId":"PS...`,
 * `Authorization: Basic ...`, and the password of URL userinfo (`scheme://user:PASSWORD@host`).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { isTokenAt, secretForms, secretsPattern } from './secret-forms.ts';
import { isGzip, isTar, packTar, readTarEntries } from './tar-archive.ts';

export const MASK = '***';

const KEY = `(?:password|passwd|pwd|passphrase|secret|community|auth_?key|priv_?key|api_?key|access_?token|token|session_?id|sessionid|xsrf-token|x-xsrf-token|cookie)`;
/** `"password": "value"` (JSON, any quoting of the key). */
const JSON_PAIR = new RegExp(String.raw`("${KEY}"\s*:\s*")((?:[^"\\]|\\.)*)(")`, 'gi');
/** `password=value`, `password: value`, `XSRF-TOKEN=value;` (stops at whitespace, `;`, `&`, `,`, quote). */
const KV_PAIR = new RegExp(String.raw`(\b${KEY}\b\s*[=:]\s*)(?!\*\*\*)([^\s;&,"'<>]+)`, 'gi');
/** Poly session ids: `PS` + ~48 base64 characters. */
const POLY_SESSION = /\bPS[A-Za-z0-9+/]{30,}={0,2}/g;
/** The password of URL userinfo: `scheme://user:PASSWORD@`. */
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)(?!\*\*\*@)([^\s/@]+)(@)/gi;
/** `Authorization: Basic|Bearer|Digest <credentials>`. */
const AUTHORIZATION =
  /(\b(?:proxy-)?authorization\b["']?\s*[:=]\s*["']?(?:basic|bearer|digest)?\s*)(?!\*\*\*)([^\s"',;]+)/gi;

/** The compiled pattern of the last secret list (the agent and hub pass the same list every time). */
let cached: { list: readonly string[]; key: string; pattern: RegExp | undefined } | undefined;
function patternFor(secrets: readonly string[]): RegExp | undefined {
  if (cached?.list === secrets) return cached.pattern;
  const key = secrets.join('\u0000');
  if (cached?.key !== key) cached = { list: secrets, key, pattern: secretsPattern(secrets) };
  else cached.list = secrets;
  return cached.pattern;
}

/** A JSON number/literal masked in a JSON value position becomes the string "***", so JSON stays JSON. */
function maskFor(match: string, offset: number, text: string): string {
  if (!/^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/.test(match)) return MASK;
  const before = /[:[,]\s*$/.test(text.slice(Math.max(0, offset - 40), offset));
  const after = /^\s*[,}\]]/.test(text.slice(offset + match.length, offset + match.length + 40));
  return before && after ? `"${MASK}"` : MASK;
}

/** Mask known secrets (any length, every form) and secret-looking pairs in a text. */
export function redactText(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  const pattern = patternFor(knownSecrets);
  if (pattern) out = out.replace(pattern, maskFor);
  out = out.replace(URL_USERINFO, (_m, a: string, _v: string, c: string) => `${a}${MASK}${c}`);
  out = out.replace(AUTHORIZATION, (_m, a: string) => `${a}${MASK}`);
  out = out.replace(JSON_PAIR, (_m, a: string, _v: string, c: string) => `${a}${MASK}${c}`);
  out = out.replace(KV_PAIR, (_m, a: string) => `${a}${MASK}`);
  out = out.replace(POLY_SESSION, MASK);
  return out;
}

/** True when a buffer looks like text (no NUL byte in its first 8 KB). */
export function isProbablyText(data: Buffer): boolean {
  return !data.subarray(0, 8192).includes(0);
}

/**
 * Mask known secrets (every form) inside binary data, byte for byte (keeps lengths); the same buffer when none
 * is found. Short secrets only where they stand as a token (secret-forms.ts).
 */
export function redactBinary(data: Buffer, knownSecrets: readonly string[]): Buffer {
  let out: Buffer | undefined;
  for (const form of secretForms(knownSecrets)) {
    const needle = Buffer.from(form.text);
    for (let at = data.indexOf(needle); at !== -1; at = data.indexOf(needle, at + 1)) {
      if (form.bounded && !isTokenAt(data, at, at + needle.length)) continue;
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
