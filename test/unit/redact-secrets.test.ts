/**
 * Issue 13: redaction masks every configured secret of any length (Poly's factory admin password is `456`) and
 * its URL-encoded, JSON-escaped and base64 forms; a short secret only where it stands as a token or value, so it
 * does not destroy unrelated text (the rule is explained in protocols/secret-forms.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactBinary, redactText } from '../../protocols/redact.ts';
import { ANYWHERE_MIN_LENGTH } from '../../protocols/secret-forms.ts';

const RUNS = Number(process.env.HEZO_FUZZ_RUNS ?? 300);

/** Secrets of any length, with characters that need URL, JSON or base64 care (no `*`: the mask itself). */
const secretChar = fc.constantFrom(...'abcXYZ0456789 !"#$%&\'()+,-./:;=?@[\\]^_`{|}~łżé€😀\t'.split(/(?:)/u));
const secretArb = fc
  .array(secretChar, { minLength: 1, maxLength: 16 })
  .map((cs) => cs.join(''))
  .filter((s) => !s.includes('<<') && !s.includes('>>'));

function jsonEscaped(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

const FORMS: Record<string, (s: string) => string> = {
  raw: (s) => s,
  url: (s) => encodeURIComponent(s),
  urlLower: (s) => encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
  form: (s) => encodeURIComponent(s).replace(/%20/g, '+'),
  json: jsonEscaped,
  base64: (s) => Buffer.from(s).toString('base64'),
  base64url: (s) => Buffer.from(s).toString('base64url'),
};

/** Positions a value takes in logs and configs; `<<` and `>>` mark the slot. */
const POSITIONS: ((v: string) => string)[] = [
  (v) => `login ok pin=<<${v}>> next`,
  (v) => `{"user":"admin","pin":"<<${v}>>","n":1}`,
  (v) => `url https://admin:<<${v}>>@10.0.0.5/rest`,
  (v) => `<<${v}>>`,
  (v) => `line one\n<<${v}>>\nline three`,
  (v) => `key: <<${v}>>; other: 1`,
];

function slot(text: string): string {
  const m = /<<([\s\S]*?)>>/.exec(text);
  if (!m) throw new Error(`slot lost in ${JSON.stringify(text)}`);
  return m[1] as string;
}

describe('redaction of configured secrets (any length, every form)', () => {
  it("Poly's factory password 456: masked as a value, ordinary numbers and words stay", () => {
    const secrets = ['456'];
    expect(redactText('password=456', secrets)).toBe('password=***');
    expect(redactText('curl https://admin:456@10.0.0.5/rest/system', secrets)).toBe(
      'curl https://admin:***@10.0.0.5/rest/system',
    );
    expect(redactText('{"user":"admin","pw":"456"}', secrets)).toBe('{"user":"admin","pw":"***"}');
    // a bare JSON number stays valid JSON
    expect(JSON.parse(redactText('{"pin": 456, "port": 443}', secrets))).toEqual({ pin: '***', port: 443 });
    expect(redactText('pin 456 ok', secrets)).toBe('pin *** ok');
    expect(redactText('NDU2', secrets)).toBe('***'); // base64("456")
    expect(redactText('Authorization: Basic YWRtaW46NDU2', secrets)).toBe('Authorization: Basic ***');
    const unrelated = 'uptime 14567 s, build 4.5.6, port 4560, id A456B, 2026-11-30T04:56:00Z';
    expect(redactText(unrelated, secrets)).toBe(unrelated);
  });

  it('every form of any secret in a value position is masked', () => {
    fc.assert(
      fc.property(
        secretArb,
        fc.constantFrom(...Object.keys(FORMS)),
        fc.constantFrom(...POSITIONS),
        (secret, formName, position) => {
          const form = (FORMS[formName] as (s: string) => string)(secret);
          const out = redactText(position(form), [secret]);
          // URL userinfo is masked whole, markers and all
          if (!out.includes('<<')) {
            expect(out.startsWith('url https://admin:***@')).toBe(true);
            return;
          }
          const left = slot(out);
          expect(left.includes(form) && form.length > 0, `${formName} ${JSON.stringify(form)} -> ${out}`).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  }, 300_000);

  it('a long secret is masked anywhere, also inside longer base64 (any alignment)', () => {
    const longSecret = fc
      .array(secretChar, { minLength: ANYWHERE_MIN_LENGTH, maxLength: 24 })
      .map((cs) => cs.join(''))
      .filter((s) => [...s].length >= ANYWHERE_MIN_LENGTH);
    fc.assert(
      fc.property(longSecret, fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), (secret, pre, post) => {
        const raw = redactText(`x${secret}y`, [secret]);
        expect(raw).not.toContain(secret);
        const b64 = Buffer.from(`${pre}${secret}${post}`).toString('base64');
        const out = redactText(`data ${b64} end`, [secret]);
        // no base64 run left in the output decodes (at any offset) to something holding the secret
        for (const run of out.split(/[^A-Za-z0-9+/=]+/)) {
          for (let off = 0; off < 4; off++) {
            expect(Buffer.from(run.slice(off), 'base64').toString('utf8')).not.toContain(secret);
          }
        }
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it('a short secret inside a word or number is left alone (no collateral damage)', () => {
    const shortAlnum = fc
      .array(fc.constantFrom(...'abc0456789'.split('')), { minLength: 1, maxLength: ANYWHERE_MIN_LENGTH - 1 })
      .map((cs) => cs.join(''));
    fc.assert(
      fc.property(shortAlnum, fc.stringMatching(/^[a-z0-9]{1,6}$/), fc.stringMatching(/^[a-z0-9]{1,6}$/), (s, a, b) => {
        const text = `value ${a}${s}${b} stays`;
        expect(redactText(text, [s])).toBe(text);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it('binary data: short secrets masked as tokens only, lengths kept', () => {
    const data = Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(' 456 x4567 '), Buffer.from([0xff])]);
    const out = redactBinary(data, ['456']);
    expect(out.length).toBe(data.length);
    expect(out.subarray(3).toString('latin1')).toBe(' *** x4567 \xff');
  });
});
