/**
 * A powered-off device answers nothing: its TCP ports refuse connections (the kernel sends RST), as a real
 * unit's would when it has no power. The listening socket is closed on `down` and reopened on the same port
 * at `boot`.
 */
import type { Server } from 'node:net';

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
