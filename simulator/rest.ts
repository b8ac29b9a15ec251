/**
 * The Poly Video OS REST API of one simulated device over HTTPS (poly-devices.md §1).
 * Sessions: POST /rest/current/session or /rest/session -> `session_id` cookie [CODE]; firmware >= 4.6.2 also sets
 * an `XSRF-TOKEN` cookie and requires the `x-xsrf-token` header on later requests [CODE + 2ND]. Failed logins
 * give 400 with a `reason` [CODE]; an unknown or expired session gives 403 [CODE].
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { DeviceSession, SimDevice } from './device.ts';
import { compareVersions } from './identity.ts';
import { buildLogArchive } from './logs.ts';
import { closeListener, closeServer, listen, reopenListener } from './power-listener.ts';
import * as payloads from './rest-payloads.ts';

const MAX_BODY_BYTES = 10 * 1024 * 1024; // "The API refuses bodies over 10 MB" [2ND]
const XSRF_SINCE = '4.6.2';

type Reply = { status: number; body?: unknown; headers?: Record<string, string | string[]>; raw?: Buffer };

export interface RestServer {
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function json(status: number, body: unknown): Reply {
  return { status, body };
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), decodeURIComponent(part.slice(i + 1).trim()));
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Malformed answers for the `garbage` fault: cut JSON, an HTML error page, or HTML labelled as JSON. */
function garbage(d: SimDevice): Reply {
  const r = d.random();
  if (r < 0.34) {
    const text = JSON.stringify(payloads.systemInfo(d));
    return {
      status: 200,
      raw: Buffer.from(text.slice(0, Math.floor(text.length / 2))),
      headers: { 'content-type': 'application/json' },
    };
  }
  const html =
    '<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>';
  return {
    status: r < 0.67 ? 500 : 200,
    raw: Buffer.from(html),
    headers: { 'content-type': r < 0.67 ? 'text/html' : 'application/json' },
  };
}

export function createRestServer(device: SimDevice, host: string): RestServer {
  const isXsrf = compareVersions(device.identity.softwareVersion, XSRF_SINCE) >= 0;
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  function sessionCookies(session: DeviceSession): string[] {
    const cookies = [`session_id=${session.id}; Path=/; Secure; HttpOnly`];
    if (isXsrf) cookies.push(`XSRF-TOKEN=${session.xsrfToken}; Path=/; Secure`);
    return cookies;
  }

  function login(req: IncomingMessage, body: Buffer, cookies: Map<string, string>): Reply {
    const input = parseJson(body) as { user?: unknown; password?: unknown } | undefined;
    if (
      typeof input !== 'object' ||
      input === null ||
      typeof input.user !== 'string' ||
      typeof input.password !== 'string'
    ) {
      return json(400, { success: false, reason: 'SessionRequestInvalid' });
    }
    const existing = device.touchSession(cookies.get('session_id'));
    if (existing) return json(400, { success: false, reason: 'SessionAlreadyActive' });
    const location = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
    const result = device.login(input.user, input.password, 'WEB', location);
    if (!result.ok)
      return json(400, { success: false, reason: result.reason, loginStatus: { loginResult: result.reason } });
    const s = result.session;
    return {
      status: 200,
      headers: { 'set-cookie': sessionCookies(s) },
      body: {
        success: true,
        reason: '',
        session: {
          sessionId: s.id,
          userId: s.userId,
          role: 'ADMIN',
          clientType: s.clientType,
          location: s.location,
          creationTime: Math.round(device.uptimeS() * 1000),
          isAuthenticated: true,
          isConnected: false,
          isNew: true,
          isStale: false,
        },
        loginStatus: {
          failedLogins: 0,
          isPasswordAgeLimitReached: false,
          lastLoginClient: location,
          lastLoginClientType: 'WEB',
          lastLoginTime: device.now(),
          loginResult: 'LOGIN_SUCCESS',
        },
      },
    };
  }

  async function authed(method: string, path: string, body: Buffer, session: DeviceSession): Promise<Reply> {
    const call = device.call;
    const confMatch = /^\/rest\/conferences\/(\d+)(\/mediastats)?$/.exec(path);
    if (confMatch && method === 'GET') {
      if (!call || String(call.confId) !== confMatch[1]) return json(404, { success: false, reason: 'NotFound' });
      return json(200, confMatch[2] ? payloads.mediaStats(call) : payloads.conference(device, call));
    }
    switch (`${method} ${path}`) {
      case 'DELETE /rest/session':
      case 'DELETE /rest/current/session':
        device.endSession(session.id);
        return { status: 200, body: { success: true }, headers: { 'set-cookie': 'session_id=; Path=/; Max-Age=0' } };
      case 'GET /rest/current/session/sessions':
        return json(200, {
          sessionList: [...device.sessions.values()].map((s) => ({
            clientType: s.clientType,
            creationTime: s.createdAt,
            isAuthenticated: true,
            isConnected: s.clientType === 'SSH',
            isNew: false,
            isStale: false,
            location: s.location,
            role: 'ADMIN',
            sessionId: s.id,
            userId: s.userId,
          })),
        });
      case 'GET /rest/system':
        return json(200, payloads.systemInfo(device));
      case 'GET /rest/system/status':
        return json(200, payloads.systemStatus(device));
      case 'GET /rest/system/temperature':
        return json(200, payloads.temperature(device));
      case 'GET /rest/audio':
        return json(200, payloads.audio(device));
      case 'GET /rest/audio/microphones':
        return json(200, payloads.microphones(device));
      case 'GET /rest/audio/muted':
        return json(200, false);
      case 'GET /rest/audio/volume':
        return json(200, 39);
      case 'GET /rest/cameras/near/all':
        return json(200, payloads.cameras(device));
      case 'GET /rest/conferences':
        return json(200, call ? [payloads.conference(device, call)] : []);
      case 'POST /rest/current/devicemanagement/devices':
        return json(200, payloads.peripherals(device, host));
      case 'GET /rest/system/logs':
        return {
          status: 200,
          raw: await buildLogArchive(device),
          headers: {
            'content-type': 'application/octet-stream',
            'content-disposition': `attachment; filename="${device.serial}-logs.tar.gz"`,
          },
        };
      case 'POST /rest/system/reboot': {
        const input = parseJson(body) as { action?: unknown } | undefined;
        if (input?.action !== 'reboot') return json(400, { success: false, reason: 'InvalidAction' });
        setImmediate(() => device.injectFault({ kind: 'reboot', durationMs: device.tuning.rebootDurationMs }));
        return json(200, { success: true });
      }
      default:
        return json(404, { success: false, reason: 'NotFound' });
    }
  }

  async function route(req: IncomingMessage): Promise<Reply> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = await readBody(req);
    if (body === 'too-large') return json(413, { success: false, reason: 'RequestTooLarge' });
    if (device.isGarbage()) return garbage(device);
    const cookies = parseCookies(req.headers.cookie);
    if (method === 'POST' && (path === '/rest/current/session' || path === '/rest/session'))
      return login(req, body, cookies);
    const session = device.touchSession(cookies.get('session_id'));
    if (!session) {
      if (method === 'DELETE' && (path === '/rest/session' || path === '/rest/current/session')) {
        return json(400, { success: false, reason: 'SessionNoActiveSession' });
      }
      return json(403, { success: false, reason: 'SessionNoActiveSession' });
    }
    if (isXsrf && req.headers['x-xsrf-token'] !== session.xsrfToken) {
      return json(403, { success: false, reason: 'XsrfTokenInvalid' });
    }
    const reply = await authed(method, path, body, session);
    if (isXsrf && device.sessions.has(session.id)) {
      reply.headers = { ...reply.headers, 'set-cookie': [`XSRF-TOKEN=${session.xsrfToken}; Path=/; Secure`] };
    }
    return reply;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!device.isUp() || device.isDropped()) {
      req.socket.destroy();
      return;
    }
    // rest-hung: the connection and TLS were accepted; the HTTP answer never comes (until the client gives up)
    if (device.faults.has('rest-hung')) return;
    const addedMs = device.addedDelayMs();
    if (addedMs > 0) await delay(addedMs);
    if (!device.isUp()) {
      req.socket.destroy();
      return;
    }
    const reply = await route(req);
    const data = reply.raw ?? Buffer.from(JSON.stringify(reply.body ?? null));
    res.writeHead(reply.status, {
      'content-type': 'application/json',
      'content-length': data.length,
      'cache-control': 'no-store',
      ...reply.headers,
    });
    res.end(data);
  }

  const onDown = (): void => {
    for (const s of sockets) s.destroy();
    closeListener(server);
  };
  const onBoot = (): void => {
    server?.setSecureContext({ key: device.tls.key, cert: device.tls.cert });
    reopenListener(server, port, host, (err) => device.log.error({ err }, 'rest listener could not reopen'));
  };

  return {
    get port() {
      return port;
    },
    async start() {
      const srv = createServer({ key: device.tls.key, cert: device.tls.cert }, (req, res) => {
        handle(req, res).catch((err: unknown) => {
          device.log.warn({ err }, 'rest request failed');
          res.destroy();
        });
      });
      server = srv;
      srv.keepAliveTimeout = device.tuning.restKeepAliveMs;
      srv.on('connection', (socket: Socket) => {
        if (!device.isUp()) {
          socket.destroy();
          return;
        }
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      srv.on('tlsClientError', () => {});
      device.on('down', onDown);
      device.on('boot', onBoot);
      port = await listen(srv, port, host);
    },
    async stop() {
      device.off('down', onDown);
      device.off('boot', onBoot);
      const srv = server;
      server = undefined;
      if (!srv) return;
      await closeServer(srv, sockets);
    },
  };
}
