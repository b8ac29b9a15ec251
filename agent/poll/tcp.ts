/** The cheapest probe: can a TCP connection be opened to the device's service port? */
import net from 'node:net';
import { DeviceError, toDeviceError } from '../../protocols/clients/device-error.ts';

/** Resolves with the connect time in ms, or rejects with a DeviceError (refused, timeout, unreachable). */
export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DeviceError('timeout', `tcp ${host}:${port}: no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(performance.now() - started);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(toDeviceError(err, `tcp ${host}:${port}`));
    });
  });
}
