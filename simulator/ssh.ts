/**
 * The Poly command-line API over SSH for one device (ssh2 Server, password auth, an ECDSA P-256 host key generated
 * at start). Both `exec` (one command) and an interactive shell (banner = whoami lines, `-> ` prompt) are served.
 * Logged-in SSH clients show in REST /rest/current/session/sessions with clientType "SSH" [CODE-SAMPLE].
 * SSH on port 22 is a [GUESS]; here every device has its own port on the loopback.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import ssh2 from 'ssh2';
import { PROMPT, runCommand, whoami } from './cli.ts';
import type { SimDevice } from './device.ts';
import { closeListener, closeServer, listen, reopenListener } from './power-listener.ts';

const { Server, utils } = ssh2;
const EOL = '\r\n';

export interface SshServer {
  readonly port: number;
  /** `ecdsa-sha2-nistp256 AAAA...` */
  readonly hostPublicKey: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** An ECDSA P-256 host key (SEC1 PEM, which ssh2 parses reliably) and its `ecdsa-sha2-nistp256 AAAA...` line. */
function generateHostKey(): { private: string; public: string } {
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return { private: privateKey, public: `${key.type} ${key.getPublicSSH().toString('base64')}` };
}

export function createSshServer(device: SimDevice, host: string): SshServer {
  const keys = generateHostKey();
  const sockets = new Set<Socket>();
  let port = 0;
  let net: NetServer | undefined;

  const output = async (lines: string[]): Promise<string> => {
    const addedMs = device.addedDelayMs();
    if (addedMs > 0) await delay(addedMs);
    return lines.map((l) => `${l}${EOL}`).join('');
  };

  const ssh = new Server({ hostKeys: [keys.private], banner: undefined }, (client, info) => {
    let sessionId: string | undefined;
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'password') {
        ctx.reject(['password']);
        return;
      }
      const result = device.login(ctx.username, ctx.password, 'SSH', info.ip);
      if (!result.ok) {
        ctx.reject(['password']);
        return;
      }
      sessionId = result.session.id;
      ctx.accept();
    });
    client.on('close', () => {
      if (sessionId !== undefined) device.endSession(sessionId);
    });
    client.on('error', (err) => device.log.debug({ err }, 'ssh client error'));
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        let hasPty = false;
        session.on('pty', (acceptPty) => {
          hasPty = true;
          acceptPty?.();
        });
        session.on('env', (acceptEnv) => acceptEnv?.());
        session.on('exec', (acceptExec, _reject, execInfo) => {
          const stream = acceptExec();
          output(runCommand(device, execInfo.command))
            .then((text) => {
              stream.write(text);
              stream.exit(0);
              stream.end();
            })
            .catch(() => stream.end());
        });
        session.on('shell', (acceptShell) => {
          const stream = acceptShell();
          stream.write(`${whoami(device).join(EOL)}${EOL}${PROMPT}`);
          let buffer = '';
          let queue = Promise.resolve();
          stream.on('data', (chunk: Buffer) => {
            const text = chunk.toString('utf8');
            if (hasPty) stream.write(text.replace(/\r(?!\n)/g, EOL));
            buffer += text;
            const parts = buffer.split(/\r\n|\r|\n/);
            buffer = parts.pop() ?? '';
            for (const line of parts) {
              queue = queue.then(async () => {
                const cmd = line.trim();
                if (cmd === 'exit' || cmd === 'quit' || cmd === 'bye') {
                  stream.exit(0);
                  stream.end();
                  return;
                }
                stream.write(`${await output(runCommand(device, cmd))}${PROMPT}`);
              });
            }
          });
        });
      });
    });
  });

  const onDown = (): void => {
    for (const s of sockets) s.destroy();
    closeListener(net);
  };
  const onBoot = (): void => {
    reopenListener(net, port, host, (err) => device.log.error({ err }, 'ssh listener could not reopen'));
  };

  return {
    get port() {
      return port;
    },
    get hostPublicKey() {
      return keys.public;
    },
    async start() {
      const srv = createServer((socket) => {
        if (!device.isUp() || device.isDropped()) {
          socket.destroy();
          return;
        }
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        ssh.injectSocket(socket);
      });
      net = srv;
      device.on('down', onDown);
      device.on('boot', onBoot);
      port = await listen(srv, 0, host);
    },
    async stop() {
      device.off('down', onDown);
      device.off('boot', onBoot);
      const srv = net;
      net = undefined;
      if (!srv) return;
      await closeServer(srv, sockets);
    },
  };
}
