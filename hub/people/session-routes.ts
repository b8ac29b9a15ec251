/**
 * Sign-in (the desk and portal pages' contract):
 * - `POST /api/session {user, password}` -> 200 `{csrfToken, user: {name, role, customer?}}` + `hezo_session` cookie
 *   (HttpOnly, SameSite=Strict, Path=/, Secure over TLS); 401 for a wrong name or password (same answer for
 *   both); 429 while the address or the account is locked out. Both outcomes are audited.
 * - `GET /api/session` -> the same body while signed in (401 `UNAUTHENTICATED` otherwise);
 * - `DELETE /api/session` -> 204, ends the session and clears the cookie.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import { parseOrThrow } from '../../protocols/validation.ts';
import type { AuditStore } from '../audit/store.ts';
import { cookieValue, SESSION_COOKIE } from './authenticate.ts';
import { dummyPasswordHash, verifyUserPassword } from './passwords.ts';
import type { Principal } from './roles.ts';
import type { PeopleStore, UserView } from './store.ts';
import type { SignInThrottle } from './throttle.ts';

export const SESSION_TTL_MS = 12 * 3_600_000;

const SignInBody = z.strictObject({ user: z.string().min(1).max(64), password: z.string().min(1).max(1024) });

export interface SessionBody {
  csrfToken: string | null;
  user: { name: string; role: string; customer?: string };
}

function sessionBody(user: Pick<UserView, 'name' | 'role' | 'customer'>, csrfToken: string | null): SessionBody {
  return {
    csrfToken,
    user: { name: user.name, role: user.role, ...(user.customer !== undefined ? { customer: user.customer } : {}) },
  };
}

function setCookie(reply: FastifyReply, value: string, maxAgeS: number, secure: boolean): void {
  const parts = [
    `${SESSION_COOKIE}=${encodeURIComponent(value)}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeS}`,
  ];
  if (secure) parts.push('Secure');
  reply.header('set-cookie', parts.join('; '));
}

export function principalBody(p: Principal): SessionBody {
  return sessionBody({ name: p.name, role: p.role, customer: p.customer }, p.csrfToken ?? null);
}

export function registerSessionRoutes(
  http: FastifyInstance,
  deps: { store: PeopleStore; throttle: SignInThrottle; audit: () => AuditStore | undefined; now: () => number },
): void {
  http.post(
    '/api/session',
    { config: { access: 'public', audit: false, docs: { summary: 'sign in' }, zod: { body: SignInBody } } },
    async (request, reply) => {
      const { user: name, password } = parseOrThrow(SignInBody, request.body ?? {}, ErrorCode.PAYLOAD_INVALID, 'body');
      const address = request.ip;
      const audit = async (action: string, after?: unknown) =>
        deps.audit()?.record({ actor: { id: `user:${name}`, name }, address, action, target: `user:${name}`, after });
      const locked = deps.throttle.lockedUntil(address, name);
      if (locked !== undefined) {
        await audit('session.sign-in-locked');
        reply.header('retry-after', String(Math.ceil((locked - deps.now()) / 1000)));
        throw new AppError(ErrorCode.TOO_MANY_ATTEMPTS, 'too many failed sign-ins: try again later');
      }
      const hash = await deps.store.passwordHash(name);
      const isValid = await verifyUserPassword(password, hash ?? (await dummyPasswordHash()));
      const user = hash !== undefined && isValid ? await deps.store.user(name) : undefined;
      if (user === undefined) {
        deps.throttle.recordFailure(address, name);
        await audit('session.sign-in-failed');
        throw new AppError(ErrorCode.UNAUTHENTICATED, 'wrong user name or password');
      }
      deps.throttle.recordSuccess(name);
      const { sessionId, csrfToken } = await deps.store.createSession(name, SESSION_TTL_MS, address);
      await audit('session.sign-in', { role: user.role });
      setCookie(reply, sessionId, SESSION_TTL_MS / 1000, request.protocol === 'https');
      return sessionBody(user, csrfToken);
    },
  );

  http.get('/api/session', { config: { access: 'read', isCallerData: true } }, async (request) =>
    principalBody(request.principal!),
  );

  http.delete('/api/session', { config: { access: 'public', audit: false } }, async (request, reply) => {
    const sessionId = cookieValue(request.headers.cookie, SESSION_COOKIE);
    const user = sessionId === undefined ? undefined : (await deps.store.session(sessionId))?.user;
    if (sessionId !== undefined && user !== undefined && (await deps.store.endSession(sessionId))) {
      const actor = { id: `user:${user.name}`, name: user.name, role: user.role };
      await deps
        .audit()
        ?.record({ actor, address: request.ip, action: 'session.sign-out', target: `user:${user.name}` });
    }
    setCookie(reply, '', 0, request.protocol === 'https');
    return reply.code(204).send();
  });
}
