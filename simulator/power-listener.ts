/**
 * A powered-off device answers nothing: its TCP ports refuse connections (the kernel sends RST), as a real
 * unit's would when it has no power. The listening socket is closed on `down` and reopened on the same port
 * at `boot`.
 */
import type { AddressInfo, Server, Socket } from 'node:net';

export function closeListener(server: Server | undefined): void {
  if (server?.listening) server.close();
}

export function reopenListener(
  server: Server | undefined,
  port: number,
  host: string,
  onError: (err: Error) => void,
): void {
  if (server === undefined || server.listening || port === 0) return;
  server.once('error', onError);
  server.listen(port, host, () => server.off('error', onError));
}

/** Listen on host:port (0 = a free port); resolves with the bound port. */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Destroy the open connections and stop listening (resolves also when the device was off and not listening). */
export function closeServer(server: Server, sockets: ReadonlySet<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
