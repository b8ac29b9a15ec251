/**
 * An on-path attacker between the agent and a device, for the security tests: a TCP switch that forwards
 * to the real device, swallows connections (a dropped reply) or hands them to an impostor; a UDP relay
 * that can drop SNMP datagrams; an impostor HTTPS server and ssh2 servers that record what they receive.
 */

import dgram from 'node:dgram';
import { once } from 'node:events';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import { generateTls } from '../../simulator/certs.ts';

export type SwitchMode = 'forward' | 'blackhole' | 'impostor';

export interface TcpSwitch {
  port: number;
  mode: SwitchMode;
  /** Connections accepted per mode (so a test can prove the agent did come). */
  readonly accepted: Record<SwitchMode, number>;
  /** Cut every open connection (the attacker takes over). */
  cutAll(): void;
  /** Stop listening (connects are refused) until `resume()`, on the same port. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

function portOf(server: net.Server | dgram.Socket): number {
  return (server.address() as AddressInfo).port;
}

/** A TCP port that forwards to `device` or `impostor` (host 127.0.0.1), or swallows connections. */
export async function startTcpSwitch(devicePort: number, impostorPort: () => number): Promise<TcpSwitch> {
  const sockets = new Set<Socket>();
  const accepted: Record<SwitchMode, number> = { forward: 0, blackhole: 0, impostor: 0 };
  const state = { mode: 'forward' as SwitchMode };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    const mode = state.mode;
    accepted[mode]++;
    if (mode === 'blackhole') return; // accepted, never answered
    const upstream = net.connect(mode === 'forward' ? devicePort : impostorPort(), '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = portOf(server);
  return {
    port,
    get mode() {
      return state.mode;
    },
    set mode(mode: SwitchMode) {
      state.mode = mode;
    },
    accepted,
    cutAll() {
      for (const s of sockets) s.destroy();
    },
    async pause() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async resume() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface UdpRelay {
  port: number;
  /** Datagrams from the agent to drop from now on (each drop decrements; 0 = forward). */
  dropNext: number;
  dropped: number;
  close(): Promise<void>;
}

/** A UDP relay in front of an SNMP agent on 127.0.0.1:`targetPort` that can drop requests. */
export async function startUdpRelay(targetPort: number): Promise<UdpRelay> {
  const front = dgram.createSocket('udp4');
  const state = { dropNext: 0, dropped: 0 };
  // one upstream socket per agent source port, so replies find their way back
  const upstreams = new Map<string, dgram.Socket>();
  front.on('message', (msg, rinfo) => {
    if (state.dropNext > 0) {
      state.dropNext--;
      state.dropped++;
      return;
    }
    const key = `${rinfo.address}:${rinfo.port}`;
    let up = upstreams.get(key);
    if (!up) {
      up = dgram.createSocket('udp4');
      up.on('message', (reply) => front.send(reply, rinfo.port, rinfo.address));
      up.on('error', () => {});
      upstreams.set(key, up);
    }
    up.send(msg, targetPort, '127.0.0.1');
  });
  front.bind(0, '127.0.0.1');
  await once(front, 'listening');
  return {
    port: portOf(front),
    get dropNext() {
      return state.dropNext;
    },
    set dropNext(n: number) {
      state.dropNext = n;
    },
    get dropped() {
      return state.dropped;
    },
    async close() {
      for (const up of upstreams.values()) up.close();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    },
  };
}

export interface ImpostorHttps {
  port: number;
  /** TLS handshakes completed (the agent reached us) and HTTP requests received (it trusted us). */
  readonly handshakes: number;
  readonly requests: { method: string; path: string; body: string }[];
  close(): Promise<void>;
}

/** An HTTPS server with its own self-signed certificate that records every request (e.g. a login). */
export async function startImpostorHttps(): Promise<ImpostorHttps> {
  const tls = await generateTls('impostor');
  const requests: ImpostorHttps['requests'] = [];
  const state = { handshakes: 0 };
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"success":true,"session":{"sessionId":"PSimpostorimpostorimpostorimpostor1234"}}');
    });
  });
  server.on('secureConnection', () => {
    state.handshakes++;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: portOf(server as unknown as net.Server),
    get handshakes() {
      return state.handshakes;
    },
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface RecordingSshServer {
  port: number;
  /** Key exchanges started (the agent reached us). */
  readonly connections: number;
  /** Every authentication attempt: method, user, and the password when one was sent. */
  readonly attempts: { method: string; username: string; password?: string }[];
  close(): Promise<void>;
}

/** An ssh2 server with a fresh ed25519 host key, accepting `password` and answering every exec with "ok". */
export async function startRecordingSsh(password: string, port = 0): Promise<RecordingSshServer> {
  const key = ssh2.utils.generateKeyPairSync('ed25519');
  const attempts: RecordingSshServer['attempts'] = [];
  const state = { connections: 0 };
  const clients = new Set<ssh2.Connection>();
  const server = new ssh2.Server({ hostKeys: [key.private] }, (client) => {
    state.connections++;
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => {});
    client.on('authentication', (ctx) => {
      attempts.push({
        method: ctx.method,
        username: ctx.username,
        ...(ctx.method === 'password' ? { password: ctx.password } : {}),
      });
      if (ctx.method === 'password' && ctx.password === password) ctx.accept();
      else ctx.reject(['password']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          stream.write(`ok: ${info.command}\n`);
          stream.exit(0);
          stream.end();
        });
      });
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    attempts,
    async close() {
      for (const c of clients) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
