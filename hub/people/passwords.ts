/**
 * Passwords of people: scrypt (`scrypt$<log2N>$<saltB64>$<hashB64>`), verified in constant time, never logged.
 * Tokens and session ids are random 256-bit secrets: a SHA-256 digest is enough to store them.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const LOG2_N = 15;
const KEY_BYTES = 32;
export const MIN_PASSWORD_LENGTH = 10;

function options(log2N: number) {
  return { N: 2 ** log2N, r: 8, p: 1, maxmem: 256 * 2 ** log2N * 8 } as const;
}

function derive(password: string, salt: Buffer, length: number, log2N: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, options(log2N), (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashUserPassword(password: string, log2N = LOG2_N): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, KEY_BYTES, log2N);
  return `scrypt$${log2N}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** False for a wrong password or a malformed stored hash; never throws. */
export async function verifyUserPassword(password: string, encoded: string): Promise<boolean> {
  const [scheme, cost, salt, hash] = encoded.split('$');
  const log2N = Number(cost);
  if (scheme !== 'scrypt' || !Number.isInteger(log2N) || log2N < 10 || log2N > 20 || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  try {
    const derived = await derive(password, Buffer.from(salt, 'base64'), expected.length, log2N);
    return derived.length === expected.length && timingSafeEqual(derived, expected);
  } catch {
    return false;
  }
}

/** A hash to verify against when the user does not exist, so timing does not tell whether a name exists. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashUserPassword(randomBytes(16).toString('base64'));
  return dummyHash;
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function isSameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
