/**
 * Who is calling: `Authorization: Bearer <token>` (the config's bootstrap admin token, its wall tokens, or a
 * personal token) or the `hezo_session` cookie. Config tokens are compared in constant time, all of them, so
 * timing does not say which one matched. Shared by the HTTP hook and the websocket upgrade.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { HubConfig } from '../config.ts';
import type { Principal } from './roles.ts';
import type { PeopleStore, UserView } from './store.ts';

export const SESSION_COOKIE = 'hezo_session';

export interface Credentials {
  bearer?: string | undefined;
  sessionId?: string | undefined;
}

export type AuthResult =
  | { principal: Principal }
  /** `expired`: a session cookie that no longer names a live session (or a revoked/unknown token). */
  | { principal: undefined; reason: 'none' | 'invalid' | 'expired' };

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The token of `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
}

/** One cookie's value from a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

export function credentialsFrom(headers: IncomingHttpHeaders, queryToken?: string | null): Credentials {
  return {
    bearer: bearerToken(headers.authorization) ?? queryToken ?? undefined,
    sessionId: cookieValue(headers.cookie, SESSION_COOKIE),
  };
}

export function userPrincipal(user: UserView, kind: 'token' | 'session', id: string): Principal {
  const customers =
    user.role === 'customer' ? [user.customer ?? ''] : user.role === 'wall' ? (user.customers ?? 'all') : 'all';
  return {
    kind,
    id,
    name: user.name,
    role: user.role,
    ...(user.customer !== undefined ? { customer: user.customer } : {}),
    customers,
  };
}

export class Authenticator {
  private readonly adminDigest: Buffer;
  private readonly wallDigests: Buffer[];
  private readonly store: PeopleStore;

  constructor(config: Pick<HubConfig, 'api'>, store: PeopleStore) {
    this.adminDigest = digest(config.api.token);
    this.wallDigests = config.api.readTokens.map(digest);
    this.store = store;
  }

  async authenticate(credentials: Credentials): Promise<AuthResult> {
    const { bearer, sessionId } = credentials;
    if (bearer !== undefined && bearer !== '') {
      const fromConfig = this.configToken(bearer);
      if (fromConfig !== undefined) return { principal: fromConfig };
      const owned = await this.store.userForToken(bearer);
      if (owned !== undefined) return { principal: userPrincipal(owned.user, 'token', `token:${owned.tokenId}`) };
      return { principal: undefined, reason: 'invalid' };
    }
    if (sessionId !== undefined && sessionId !== '') {
      const session = await this.store.session(sessionId);
      if (session === undefined) return { principal: undefined, reason: 'expired' };
      return {
        principal: {
          ...userPrincipal(session.user, 'session', `user:${session.user.name}`),
          csrfToken: session.csrfToken,
        },
      };
    }
    return { principal: undefined, reason: 'none' };
  }

  private configToken(token: string): Principal | undefined {
    const given = digest(token);
    let wallIndex = -1;
    this.wallDigests.forEach((d, i) => {
      if (timingSafeEqual(d, given)) wallIndex = i;
    });
    if (timingSafeEqual(this.adminDigest, given)) {
      return { kind: 'bootstrap', id: 'config:api.token', name: 'api-token', role: 'admin', customers: 'all' };
    }
    if (wallIndex >= 0) {
      return {
        kind: 'wall-token',
        id: `config:api.readTokens[${wallIndex}]`,
        name: `wall-token-${wallIndex}`,
        role: 'wall',
        customers: 'all',
      };
    }
    return undefined;
  }
}
