/** The stream's token: `Authorization: Bearer <t>` first, else `?token=<t>` (browsers cannot set headers on a websocket). */
import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../api/auth.ts';

export { checkToken } from '../api/auth.ts';

export function tokenFromRequest(req: IncomingMessage, url: URL): string | undefined {
  return bearerToken(req.headers.authorization) ?? url.searchParams.get('token') ?? undefined;
}
