/**
 * The forms a known secret can take in text, and where each is masked (used by redact.ts).
 *
 * Forms: the value itself, URL-encoded (upper- and lower-case hex, `+` for space), JSON-escaped (also with
 * non-ASCII as \uXXXX and `/` as `\/`), and base64 (standard and URL alphabets, with and without padding).
 * A long secret is also found INSIDE longer base64 text (e.g. `Authorization: Basic base64(user:secret)`):
 * base64 shifts with the secret's offset modulo 3, so for each of the 3 offsets the run of base64 characters
 * that depends only on the secret's bytes is masked.
 *
 * Where (the rule that keeps a 3-character secret such as Poly's factory `456` from destroying text):
 * - a secret of at least ANYWHERE_MIN_LENGTH characters is masked wherever any of its forms occurs;
 * - a shorter one only where a form stands as a whole token: not preceded or followed by a letter or digit.
 *   That covers every value position: `key=456`, `key: 456`, `"key":"456"`, `https://admin:456@host`,
 *   `456` alone on a line - but leaves `14567`, `v4.5.6`-style words and `port4562` alone.
 *   Secret-named keys (`password=...`, `"password": "..."`) and URL userinfo passwords are masked by pattern
 *   in redact.ts whatever their value, so a short secret is always masked in those positions.
 */

export const ANYWHERE_MIN_LENGTH = 6;

/** Letters and digits of any script: a short secret must not touch one of these to be masked. */
const WORD = String.raw`[\p{L}\p{N}]`;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function urlForms(secret: string): string[] {
  const upper = encodeURIComponent(secret);
  const lower = upper.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
  // encodeURIComponent leaves !'()* alone; some encoders escape them too
  const strict = upper.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return [upper, lower, strict, upper.replace(/%20/g, '+'), strict.replace(/%20/g, '+')];
}

function jsonForms(secret: string): string[] {
  const plain = JSON.stringify(secret).slice(1, -1);
  const ascii = plain.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [plain, ascii, plain.replace(/\//g, '\\/'), ascii.replace(/\//g, '\\/')];
}

function base64Forms(bytes: Buffer): string[] {
  const std = bytes.toString('base64');
  const url = bytes.toString('base64url');
  return [std, std.replace(/=+$/, ''), url];
}

/** The base64 characters that depend only on the secret, for each of its 3 possible offsets. */
function base64Cores(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
    const b64 = padded.toString('base64');
    const from = Math.ceil((8 * shift) / 6);
    const to = Math.floor((8 * (shift + bytes.length)) / 6);
    const core = b64.slice(from, to);
    if (core.length >= 6) out.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return out;
}

export interface SecretForm {
  text: string;
  /** Masked only as a whole token (short secrets). */
  bounded: boolean;
}

/** Every form of every secret (deduplicated, longest first: a longer form wins over its own prefix). */
export function secretForms(secrets: readonly string[]): SecretForm[] {
  const forms = new Map<string, boolean>();
  const add = (text: string, bounded: boolean) => {
    if (text.length === 0) return;
    // the same text unbounded (from a long secret) beats bounded
    forms.set(text, (forms.get(text) ?? true) && bounded);
  };
  for (const secret of new Set(secrets)) {
    if (typeof secret !== 'string' || secret.length === 0) continue;
    const bounded = [...secret].length < ANYWHERE_MIN_LENGTH;
    const bytes = Buffer.from(secret, 'utf8');
    for (const text of [secret, ...urlForms(secret), ...jsonForms(secret), ...base64Forms(bytes)]) add(text, bounded);
    if (!bounded) for (const core of base64Cores(bytes)) add(core, false);
  }
  return (
    [...forms.entries()]
      .map(([text, bounded]) => ({ text, bounded }))
      // code-unit order for equal lengths (deterministic; forms of one length never match at the same place);
      // not localeCompare, which loads ICU's collation data into every agent (~2.5 MB RSS, bench B8)
      .sort((a, b) => b.text.length - a.text.length || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
  );
}

/** One regex that finds any form (global, unicode); undefined when there is nothing to look for. */
export function secretsPattern(secrets: readonly string[]): RegExp | undefined {
  const forms = secretForms(secrets);
  if (forms.length === 0) return undefined;
  const parts = forms.map((f) => (f.bounded ? `(?<!${WORD})${escapeRegExp(f.text)}(?!${WORD})` : escapeRegExp(f.text)));
  return new RegExp(parts.join('|'), 'gu');
}

/** True when the bytes around [start, end) are not ASCII letters or digits (binary data, short secrets). */
export function isTokenAt(data: Buffer, start: number, end: number): boolean {
  const isWord = (b: number | undefined) =>
    b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b >= 0x80);
  return !isWord(data[start - 1]) && !isWord(data[end]);
}
