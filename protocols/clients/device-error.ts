/**
 * One error type for everything a device client can fail with, carrying the probe error kind the
 * health record reports (timeout, refused, tls, http, auth, parse, snmp, ssh, ...).
 */
import { AppError, ErrorCode } from '../errors.ts';
import type { ProbeError, ProbeErrorKind } from '../health.ts';

const CODE_OF_KIND: Record<ProbeErrorKind, ErrorCode> = {
  timeout: ErrorCode.DEVICE_TIMEOUT,
  refused: ErrorCode.DEVICE_REFUSED,
  unreachable: ErrorCode.DEVICE_UNREACHABLE,
  tls: ErrorCode.DEVICE_TLS,
  http: ErrorCode.DEVICE_HTTP,
  auth: ErrorCode.DEVICE_AUTH,
  'locked-out': ErrorCode.DEVICE_LOCKED_OUT,
  parse: ErrorCode.DEVICE_PARSE,
  snmp: ErrorCode.SNMP_ERROR,
  ssh: ErrorCode.SSH_ERROR,
  'not-present': ErrorCode.DEVICE_UNREACHABLE,
  other: ErrorCode.INTERNAL,
};

export class DeviceError extends AppError {
  readonly kind: ProbeErrorKind;
  readonly httpStatus: number | undefined;

  constructor(kind: ProbeErrorKind, message: string, options: { cause?: unknown; httpStatus?: number } = {}) {
    super(CODE_OF_KIND[kind], message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'DeviceError';
    this.kind = kind;
    this.httpStatus = options.httpStatus;
  }

  toProbeError(): ProbeError {
    const out: ProbeError = { kind: this.kind, message: this.message.slice(0, 500) };
    if (this.httpStatus !== undefined && this.httpStatus >= 100 && this.httpStatus <= 599)
      out.httpStatus = this.httpStatus;
    return out;
  }
}

const SOCKET_KINDS: Record<string, ProbeErrorKind> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'refused',
  EPIPE: 'refused',
  ETIMEDOUT: 'timeout',
  ESOCKETTIMEDOUT: 'timeout',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENOTFOUND: 'unreachable',
  EAI_AGAIN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
};

/** Turn any thrown value into a DeviceError (socket errno -> kind; TLS errors -> tls). */
export function toDeviceError(err: unknown, where: string): DeviceError {
  if (err instanceof DeviceError) return err;
  const e = err as NodeJS.ErrnoException & { library?: string; reason?: string };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = err instanceof Error ? err.message : String(err);
  const kind =
    SOCKET_KINDS[code] ??
    (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code === 'EPROTO' || e?.library === 'SSL routines'
      ? 'tls'
      : 'other');
  return new DeviceError(kind, `${where}: ${code ? `${code} ` : ''}${message}`.slice(0, 480), { cause: err });
}

/** Probe kinds worth a quick retry inside the poll interval (never auth: retries could lock the account). */
export function isTransient(err: DeviceError): boolean {
  switch (err.kind) {
    case 'timeout':
    case 'refused':
    case 'unreachable':
    case 'parse':
    case 'snmp':
    case 'ssh':
    case 'other':
      return true;
    case 'http':
      return (err.httpStatus ?? 500) >= 500;
    case 'tls':
    case 'auth':
    case 'locked-out':
    case 'not-present':
      return false;
  }
}
