/**
 * Poly Video OS REST client (poly-devices.md §1): HTTPS with the device's self-signed certificate
 * checked by SHA-256 fingerprint before any HTTP byte is sent, session login with fallback path,
 * `session_id` + `XSRF-TOKEN` cookies and the `x-xsrf-token` header, re-login once on 403, logout.
 * One client per device; it keeps one keep-alive socket (closed after `idleSocketMs` idle) and one session across polls.
 */
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { type CheckName, checkValue } from '../compiled-checks.ts';
import { DeviceError, toDeviceError } from './device-error.ts';
import type {
  Cameras,
  Conferences,
  LoginResponse,
  MediaStats,
  Microphones,
  Peripherals,
  SystemInfo,
  SystemStatus,
} from './poly-rest-schemas.ts';

/** The REST answers read, by the name of their schema (poly-rest-schemas.ts), checked with compiled checks. */
interface Answers {
  LoginResponse: LoginResponse;
  SystemInfo: SystemInfo;
  SystemStatus: SystemStatus;
  Microphones: Microphones;
  Cameras: Cameras;
  Conferences: Conferences;
  MediaStats: MediaStats;
  Peripherals: Peripherals;
}

/**
 * Decide whether a certificate may be used: return undefined to accept, or the error to fail with (maybe
 * later: nothing is sent on the socket until the answer).
 */
export type CertificateCheck = (fingerprint256: string) => DeviceError | undefined | Promise<DeviceError | undefined>;

export interface PolyRestOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  timeoutMs: number;
  checkCertificate: CertificateCheck;
  /** Largest body accepted for JSON answers (bytes). */
  maxJsonBytes?: number;
  /** Largest log archive accepted (bytes). */
  maxLogBytes?: number;
  /**
   * How long an idle connection is kept for the next request (default `IDLE_SOCKET_MS`: the requests of one poll
   * share it, then it is closed - the device need not hold it, poly-devices.md 1.1, nor the agent ~70 kB of TLS
   * state per device; bench B8). Longer only when the next poll comes before that (DevicePoller).
   */
  idleSocketMs?: number;
}

/** A connection left idle this long is closed by the client (the default of `idleSocketMs`). */
export const IDLE_SOCKET_MS = 1000;

export interface RawResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

const LOGIN_PATHS = ['/rest/current/session', '/rest/session'] as const;

/** One client TLS context for every device socket (creating one per connection is costly). */
let sharedContext: tls.SecureContext | undefined;
function clientContext(): tls.SecureContext {
  sharedContext ??= tls.createSecureContext({});
  return sharedContext;
}

/**
 * An https.Agent that verifies the peer certificate's fingerprint before handing the socket to HTTP.
 * It keeps the device's last TLS session (ticket) and offers it on the next connection: when the device
 * closed the idle socket between polls, the reconnect is an abbreviated handshake (no certificate
 * signature to check). A resumed session reports the certificate of the full handshake it came from,
 * which the check already accepted; only the holder of that device's ticket key can resume it.
 * The session is dropped with the agent (`reset()`: reboot, outage, certificate change) and on refusal.
 */
class FingerprintAgent extends https.Agent {
  private readonly check: CertificateCheck;
  private tlsSession: Buffer | undefined;
  private sessionFingerprint: string | undefined;
  lastFingerprint: string | undefined;

  constructor(check: CertificateCheck, idleSocketMs: number) {
    // `timeout`: how long a free socket is kept (node closes only free ones on it; requests have their own deadline)
    super({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1, maxCachedSessions: 0, timeout: idleSocketMs });
    this.check = check;
  }

  private keepSession(session: Buffer, fingerprint: string): void {
    this.tlsSession = session;
    this.sessionFingerprint = fingerprint;
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = tls.connect({
      host: options.host ?? undefined,
      port: Number(options.port),
      rejectUnauthorized: false,
      secureContext: clientContext(),
      ...(options.servername ? { servername: options.servername } : {}),
      ...(this.tlsSession ? { session: this.tlsSession } : {}),
    });
    // a ticket counts only once this socket's certificate is accepted (TLS 1.2 may send it before that)
    let accepted: string | undefined;
    let pending: Buffer | undefined;
    socket.on('session', (session: Buffer) => {
      if (accepted === undefined) pending = session;
      else this.keepSession(session, accepted);
    });
    const onError = (err: Error) => {
      this.tlsSession = undefined;
      callback?.(toDeviceError(err, 'tls connect'), socket);
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.removeListener('error', onError);
      // a resumed TLS 1.3 session carries no certificate: it is the one of the handshake that issued it
      const fingerprint =
        socket.getPeerCertificate().fingerprint256 || (socket.isSessionReused() ? this.sessionFingerprint : undefined);
      this.lastFingerprint = fingerprint;
      const decide = (refusal: DeviceError | undefined) => {
        if (refusal) {
          this.tlsSession = undefined;
          socket.on('error', () => {}); // destroyed below; the refusal goes to the request
          socket.destroy();
          callback?.(refusal, socket);
          return;
        }
        accepted = fingerprint;
        if (pending && fingerprint) this.keepSession(pending, fingerprint);
        callback?.(null, socket);
      };
      const verdict = fingerprint
        ? this.check(fingerprint)
        : new DeviceError('tls', 'tls: the device sent no certificate');
      if (verdict instanceof Promise) {
        // the socket may die while the check waits: an error then must not escape as an unhandled one
        socket.on('error', () => {});
        verdict.then(decide, (err: unknown) => decide(toDeviceError(err, 'tls check')));
      } else decide(verdict);
    });
    return undefined;
  }
}

function parseSetCookies(headers: string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of headers ?? []) {
    const first = line.split(';', 1)[0] ?? '';
    const eq = first.indexOf('=');
    if (eq > 0) out.set(first.slice(0, eq).trim(), first.slice(eq + 1).trim());
  }
  return out;
}

function snippet(body: Buffer): string {
  return JSON.stringify(body.subarray(0, 60).toString('utf8').replace(/\s+/g, ' '));
}

export class PolyRestClient {
  private readonly options: PolyRestOptions;
  private agent: FingerprintAgent | undefined;
  private sessionId: string | undefined;
  private xsrfToken: string | undefined;
  private loginPath: string | undefined;

  constructor(options: PolyRestOptions) {
    this.options = options;
  }

  /** The fingerprint of the certificate last seen on this client's sockets. */
  get lastFingerprint(): string | undefined {
    return this.agent?.lastFingerprint;
  }

  get hasSession(): boolean {
    return this.sessionId !== undefined;
  }

  /** Forget the session and sockets (after a reboot or a certificate change). */
  reset(): void {
    this.sessionId = undefined;
    this.xsrfToken = undefined;
    this.agent?.destroy();
    this.agent = undefined;
  }

  private getAgent(): FingerprintAgent {
    this.agent ??= new FingerprintAgent(this.options.checkCertificate, this.options.idleSocketMs ?? IDLE_SOCKET_MS);
    return this.agent;
  }

  /** One HTTP exchange with an overall deadline. Never rejects with anything but a DeviceError. */
  request(method: string, path: string, body?: unknown, maxBytes?: number): Promise<RawResponse> {
    const limit = maxBytes ?? this.options.maxJsonBytes ?? 4 * 1024 * 1024;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const cookies: string[] = [];
    if (this.sessionId) cookies.push(`session_id=${this.sessionId}`);
    if (this.xsrfToken) {
      cookies.push(`XSRF-TOKEN=${this.xsrfToken}`);
      headers['x-xsrf-token'] = this.xsrfToken;
    }
    if (cookies.length > 0) headers.cookie = cookies.join('; ');
    const where = `${method} ${path}`;
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const finish = (err: DeviceError | undefined, res?: RawResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(res as RawResponse);
      };
      const req = https.request({
        host: this.options.host,
        port: this.options.port,
        method,
        path,
        headers,
        agent: this.getAgent(),
      });
      const timer = setTimeout(() => {
        const err = new DeviceError('timeout', `${where}: no complete answer within ${this.options.timeoutMs} ms`);
        finish(err);
        req.destroy(err);
      }, this.options.timeoutMs);
      req.on('error', (err) => finish(toDeviceError(err, where)));
      req.on('response', (res) => {
        const fromCookies = parseSetCookies(res.headers['set-cookie']).get('XSRF-TOKEN');
        if (fromCookies) this.xsrfToken = fromCookies;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) {
            const err = new DeviceError('parse', `${where}: answer larger than ${limit} bytes`);
            finish(err);
            req.destroy(err);
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => finish(toDeviceError(err, where)));
        res.on('end', () =>
          finish(undefined, {
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks),
          }),
        );
      });
      req.end(payload);
    });
  }

  private parseJson<N extends keyof Answers & CheckName>(name: N, res: RawResponse, where: string): Answers[N] {
    let value: unknown;
    try {
      value = JSON.parse(res.body.toString('utf8'));
    } catch {
      const type = res.contentType.split(';')[0] || 'no content type';
      throw new DeviceError('parse', `${where}: expected JSON, got ${type} ${snippet(res.body)}`);
    }
    const issues = checkValue(name, value);
    if (issues !== undefined) throw new DeviceError('parse', `${where}: unexpected shape at ${issues[0] ?? '(root)'}`);
    return value as Answers[N];
  }

  /** Log in (POST /rest/current/session, falling back to /rest/session on 404). */
  async login(): Promise<void> {
    this.sessionId = undefined;
    this.xsrfToken = undefined;
    const paths = this.loginPath ? [this.loginPath] : LOGIN_PATHS;
    for (const path of paths) {
      const res = await this.request('POST', path, { user: this.options.username, password: this.options.password });
      if (res.status === 404 && path !== paths[paths.length - 1]) continue;
      const where = `POST ${path}`;
      if (res.status === 400 || res.status === 401 || res.status === 403) {
        let reason = '';
        try {
          const refusal: unknown = JSON.parse(res.body.toString('utf8'));
          if (checkValue('LoginResponse', refusal) === undefined) reason = (refusal as LoginResponse).reason ?? '';
        } catch {
          reason = '';
        }
        if (reason === 'SessionPortLockout') {
          throw new DeviceError('locked-out', `${where}: login refused, port locked out (SessionPortLockout)`, {
            httpStatus: res.status,
          });
        }
        throw new DeviceError('auth', `${where}: login refused (HTTP ${res.status}${reason ? ` ${reason}` : ''})`, {
          httpStatus: res.status,
        });
      }
      if (res.status !== 200) {
        throw new DeviceError('http', `${where}: login answered HTTP ${res.status}`, { httpStatus: res.status });
      }
      const body = this.parseJson('LoginResponse', res, where);
      const sessionId = body.session?.sessionId;
      if (body.success === false || !sessionId) {
        throw new DeviceError('auth', `${where}: login not successful${body.reason ? ` (${body.reason})` : ''}`);
      }
      this.loginPath = path;
      this.sessionId = sessionId;
      return;
    }
  }

  /** An authenticated call: logs in when needed and once more on a 403 (expired session). */
  async call(method: string, path: string, body?: unknown, maxBytes?: number): Promise<RawResponse> {
    if (!this.sessionId) await this.login();
    let res = await this.request(method, path, body, maxBytes);
    if (res.status === 403) {
      await this.login();
      res = await this.request(method, path, body, maxBytes);
    }
    if (res.status === 401 || res.status === 403) {
      this.sessionId = undefined;
      throw new DeviceError('auth', `${method} ${path}: HTTP ${res.status} after login`, { httpStatus: res.status });
    }
    if (res.status < 200 || res.status > 299) {
      const type = res.contentType.split(';')[0] || 'no content type';
      throw new DeviceError('http', `${method} ${path}: HTTP ${res.status} (${type})`, { httpStatus: res.status });
    }
    return res;
  }

  async getJson<N extends keyof Answers & CheckName>(
    name: N,
    path: string,
    method = 'GET',
    body?: unknown,
  ): Promise<Answers[N]> {
    const res = await this.call(method, path, body);
    return this.parseJson(name, res, `${method} ${path}`);
  }

  getSystem() {
    return this.getJson('SystemInfo', '/rest/system');
  }
  getSystemStatus() {
    return this.getJson('SystemStatus', '/rest/system/status');
  }
  getMicrophones() {
    return this.getJson('Microphones', '/rest/audio/microphones');
  }
  getCameras() {
    return this.getJson('Cameras', '/rest/cameras/near/all');
  }
  getConferences() {
    return this.getJson('Conferences', '/rest/conferences');
  }
  getMediaStats(conferenceId: string | number) {
    return this.getJson('MediaStats', `/rest/conferences/${encodeURIComponent(String(conferenceId))}/mediastats`);
  }
  getPeripherals() {
    return this.getJson('Peripherals', '/rest/current/devicemanagement/devices', 'POST', {});
  }

  /** GET /rest/system/logs: the log archive (tar, maybe gzipped), as bytes. */
  async getLogs(): Promise<Buffer> {
    const res = await this.call('GET', '/rest/system/logs', undefined, this.options.maxLogBytes ?? 64 * 1024 * 1024);
    if (res.body.length === 0) throw new DeviceError('parse', 'GET /rest/system/logs: empty archive');
    return res.body;
  }

  /** DELETE /rest/session, best effort; always forgets the session and closes sockets. */
  async logout(): Promise<void> {
    if (this.sessionId) {
      try {
        await this.request('DELETE', '/rest/session');
      } catch {
        // best effort: the device expires the session itself
      }
    }
    this.reset();
  }
}

export interface HandshakeResult {
  fingerprint256: string;
  latencyMs: number;
  subject?: string;
  validTo?: string;
}

/** A bare TLS handshake (no HTTP), for diagnostics and for learning a certificate. */
export function tlsHandshake(host: string, port: number, timeoutMs: number): Promise<HandshakeResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DeviceError('timeout', `tls handshake: none within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(toDeviceError(err, 'tls handshake'));
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = socket.getPeerCertificate();
      socket.destroy();
      const result: HandshakeResult = { fingerprint256: cert.fingerprint256, latencyMs: performance.now() - started };
      if (cert.subject?.CN) result.subject = String(cert.subject.CN);
      if (cert.valid_to) result.validTo = cert.valid_to;
      resolve(result);
    });
  });
}
