/** Device history events (the source of the log archive) and the lines faults write into it. */
import type { FaultKind } from './faults.ts';

export interface HistoryEvent {
  at: number;
  log: 'system' | 'hardware' | 'call' | 'security';
  level: 'I' | 'W' | 'E';
  tag: string;
  message: string;
}

type Line = Omit<HistoryEvent, 'at'>;

/** What a fault start or end writes into the device's logs; a unit losing power writes nothing. */
export function faultHistoryLine(
  kind: FaultKind,
  phase: 'start' | 'end',
  value: number | undefined,
  cameraName: string,
): Line | undefined {
  const isStart = phase === 'start';
  const level = isStart ? 'E' : 'I';
  switch (kind) {
    case 'power-off':
      return isStart
        ? undefined
        : { log: 'system', level, tag: 'PowerManager', message: 'power restored after power loss' };
    case 'reboot':
      return {
        log: 'system',
        level: 'I',
        tag: 'SystemManager',
        message: isStart ? 'reboot requested, shutting down' : 'restart complete',
      };
    case 'network-loss':
      return {
        log: 'system',
        level,
        tag: 'NetworkMonitor',
        message: isStart
          ? `packet loss detected on eth0 (${Math.round((value ?? 0) * 100)}%)`
          : 'network loss cleared on eth0',
      };
    case 'camera-disconnected':
      return {
        log: 'hardware',
        level,
        tag: 'CameraManager',
        message: `camera "${cameraName}" ${isStart ? 'disconnected' : 'connected'}`,
      };
    case 'mic-missing':
      return {
        log: 'hardware',
        level,
        tag: 'AudioManager',
        message: `microphone "Polycom Kitten Mic" ${isStart ? 'missing' : 'detected'}`,
      };
    case 'slow':
      return {
        log: 'system',
        level,
        tag: 'Watchdog',
        message: isStart ? `service response time degraded (+${value ?? 0} ms)` : 'service response time normal',
      };
    case 'garbage':
      return {
        log: 'system',
        level,
        tag: 'WebServer',
        message: isStart ? 'web service internal error' : 'web service recovered',
      };
    case 'high-temperature':
      return {
        log: 'hardware',
        level,
        tag: 'ThermalMonitor',
        message: isStart ? `temperature ${value ?? 0} C above threshold` : 'temperature back to normal',
      };
  }
}
