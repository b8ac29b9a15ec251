/**
 * API tokens: `api.token` is the admin token, `api.readTokens` may only read (GET/HEAD).
 * `checkToken` is shared with the websocket stream; comparisons are constant-time (sha256 digests).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { HubConfig } from '../config.ts';
import { isPagePath } from '../web/pages-module.ts';

export type TokenRole = 'admin' | 'read';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function isSameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** `admin`, `read` or null. Every configured token is compared, so timing does not say which one matched. */
export function checkToken(config: Pick<HubConfig, 'api'>, token: string | undefined | null): TokenRole | null {
  if (token === undefined || token === null || token === '') return null;
  let role: TokenRole | null = null;
  for (const readToken of config.api.readTokens) if (isSameSecret(token, readToken)) role = 'read';
  if (isSameSecret(token, config.api.token)) role = 'admin';
  return role;
}

/** The token of `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Paths served without a token: liveness, the pages and their static assets (the pages ask for a token). */
export function isPublicPath(path: string): boolean {
  return path === '/healthz' || path === '/' || path === '/noc' || path.startsWith('/noc/') || isPagePath(path);
}

/** Methods a read-only token may use. */
export function isReadMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}
