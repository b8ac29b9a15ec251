/**
 * The simulator control API of interfaces.md (node:http, JSON) on its own port:
 *   GET    /sim/devices                      -> 200 [SimDeviceInfo]
 *   GET    /sim/devices/:serial              -> 200 SimDeviceInfo | 404
 *   POST   /sim/devices/:serial/faults       {kind, durationMs?, value?} -> 201 {serial, faults} | 400 {error} | 404 {error}
 *   DELETE /sim/devices/:serial/faults       -> 204 | 404
 *   POST   /sim/devices/:serial/calls        {farSiteName?, lossPct?} -> 201 (simulator extension: start a call)
 *   DELETE /sim/devices/:serial/calls        -> 204 (end the call)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { isAppError } from '../protocols/errors.ts';
import type { Fleet } from './fleet.ts';

export interface ControlApi {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': data.length }).end(data);
}

async function readJson(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; error: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return { ok: false, error: `(body): expected at most ${MAX_BODY_BYTES} bytes` };
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, error: '(body): expected a JSON object' };
  }
}

export function createControlApi(fleet: Fleet, options: { host: string; port: number; logger: Logger }): ControlApi {
  let server: Server | undefined;
  let url = '';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    if (path === '/sim/devices' || path === '/sim/devices/') {
      if (method !== 'GET') return send(res, 405, { error: `method: expected GET, got ${method}` });
      return send(res, 200, fleet.devices());
    }
    const m = /^\/sim\/devices\/([^/]+)(?:\/(faults|calls))?\/?$/.exec(path);
    if (!m) return send(res, 404, { error: `path: unknown path ${path}` });
    const serial = decodeURIComponent(m[1] ?? '');
    const info = fleet.devices().find((d) => d.serial === serial);
    if (!info) return send(res, 404, { error: `serial: unknown device "${serial}"` });
    const sub = m[2];
    if (sub === undefined) {
      return method === 'GET' ? send(res, 200, info) : send(res, 405, { error: `method: expected GET, got ${method}` });
    }
    if (method === 'DELETE') {
      if (sub === 'faults') fleet.clearFaults(serial);
      else fleet.endCall(serial);
      return send(res, 204);
    }
    if (method !== 'POST') return send(res, 405, { error: `method: expected POST or DELETE, got ${method}` });
    const body = await readJson(req);
    if (!body.ok) return send(res, 400, { error: body.error });
    if (typeof body.value !== 'object' || body.value === null || Array.isArray(body.value)) {
      return send(res, 400, { error: '(body): expected a JSON object' });
    }
    try {
      if (sub === 'faults') fleet.injectFault(serial, body.value as { kind: string });
      else fleet.startCall(serial, body.value as { farSiteName?: string; lossPct?: number });
    } catch (err) {
      if (isAppError(err)) return send(res, err.code === 'UNKNOWN_SERIAL' ? 404 : 400, { error: err.message });
      throw err;
    }
    const after = fleet.devices().find((d) => d.serial === serial);
    return send(res, 201, { serial, faults: after?.faults ?? [] });
  }

  return {
    get url() {
      return url;
    },
    async start() {
      const srv = createServer((req, res) => {
        handle(req, res).catch((err: unknown) => {
          options.logger.error({ err }, 'control api request failed');
          if (!res.headersSent) send(res, 500, { error: 'internal error' });
          else res.destroy();
        });
      });
      server = srv;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(options.port, options.host, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      url = `http://${options.host}:${(srv.address() as AddressInfo).port}`;
    },
    async stop() {
      const srv = server;
      server = undefined;
      if (!srv) return;
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}
