/**
 * Static files of the browser pages (NOC wall, sign-in, desk, portal), read from one folder and cached in
 * memory, served with the strict CSP (no inline scripts or styles, only this origin).
 */
import { readFile } from 'node:fs/promises';
import type { FastifyReply } from 'fastify';

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const FILE_NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

export type StaticServer = (name: string, reply: FastifyReply) => Promise<FastifyReply>;

export function staticFiles(dir: string): StaticServer {
  const cache = new Map<string, Buffer>();

  async function load(name: string): Promise<Buffer | undefined> {
    const hit = cache.get(name);
    if (hit !== undefined) return hit;
    try {
      const bytes = await readFile(`${dir}/${name}`);
      cache.set(name, bytes);
      return bytes;
    } catch {
      return undefined;
    }
  }

  return async (name, reply) => {
    const match = FILE_NAME.exec(name);
    const bytes = match === null ? undefined : await load(name);
    if (match === null || bytes === undefined) return reply.code(404).send({ error: 'not found' });
    return reply
      .header('Content-Type', CONTENT_TYPES[match[1] ?? ''] ?? 'application/octet-stream')
      .header('Cache-Control', 'no-cache')
      .header('Content-Security-Policy', PAGE_CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      .send(bytes);
  };
}
