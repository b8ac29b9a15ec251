/** A tiny HTTPS client for self-signed test servers: status, headers, body text and parsed JSON (if any). */
import { request } from 'node:https';

export interface HttpsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: Buffer;
  json: unknown;
  setCookies: Map<string, string>;
}

export function httpsRequest(
  url: string,
  options: { method?: string; json?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const data = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json));
    const req = request(
      url,
      {
        method: options.method ?? (data ? 'POST' : 'GET'),
        rejectUnauthorized: false,
        agent: false,
        headers: {
          ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}),
          ...options.headers,
        },
        timeout: options.timeoutMs ?? 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const setCookies = new Map<string, string>();
          for (const c of res.headers['set-cookie'] ?? []) {
            const [pair = ''] = c.split(';');
            const i = pair.indexOf('=');
            if (i > 0) setCookies.set(pair.slice(0, i), pair.slice(i + 1));
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body, json, setCookies });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(data);
  });
}

/** The peer certificate's SHA-256 fingerprint of an HTTPS server. */
export function peerFingerprint(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'HEAD', rejectUnauthorized: false, agent: false, timeout: 5000 }, (res) => {
      const socket = res.socket as import('node:tls').TLSSocket;
      resolve(socket.getPeerCertificate().fingerprint256);
      res.resume();
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
