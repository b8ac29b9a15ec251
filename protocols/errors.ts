/**
 * One catalogue of error codes shared by agent, hub, simulator and the command line.
 * Codes are stable: logs, API answers and tests rely on them.
 */
export const ErrorCode = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  USAGE: 'USAGE',
  JSON_INVALID: 'JSON_INVALID',
  PAYLOAD_INVALID: 'PAYLOAD_INVALID',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  SCHEMA_VERSION: 'SCHEMA_VERSION',
  TOPIC_INVALID: 'TOPIC_INVALID',
  TOPIC_MISMATCH: 'TOPIC_MISMATCH',
  DEVICE_TIMEOUT: 'DEVICE_TIMEOUT',
  DEVICE_REFUSED: 'DEVICE_REFUSED',
  DEVICE_UNREACHABLE: 'DEVICE_UNREACHABLE',
  DEVICE_TLS: 'DEVICE_TLS',
  DEVICE_AUTH: 'DEVICE_AUTH',
  DEVICE_LOCKED_OUT: 'DEVICE_LOCKED_OUT',
  DEVICE_HTTP: 'DEVICE_HTTP',
  DEVICE_PARSE: 'DEVICE_PARSE',
  SNMP_ERROR: 'SNMP_ERROR',
  SSH_ERROR: 'SSH_ERROR',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  TRANSITION_NOT_ALLOWED: 'TRANSITION_NOT_ALLOWED',
  UNKNOWN_SERIAL: 'UNKNOWN_SERIAL',
  CONTRACT_NOT_COVERING: 'CONTRACT_NOT_COVERING',
  ATTACHMENT_TOO_LARGE: 'ATTACHMENT_TOO_LARGE',
  CHECKSUM_MISMATCH: 'CHECKSUM_MISMATCH',
  COMMAND_TIMEOUT: 'COMMAND_TIMEOUT',
  INTERNAL: 'INTERNAL',
  /** A command's target agent is offline (or went offline before it replied): nothing was or will be answered. */
  AGENT_OFFLINE: 'AGENT_OFFLINE',
  /** No valid credentials, or the session expired (HTTP 401). */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** A cookie-authenticated write without the session's `x-csrf-token`. */
  CSRF_INVALID: 'CSRF_INVALID',
  /** Too many failed sign-ins from this address or for this account: locked out for a while. */
  TOO_MANY_ATTEMPTS: 'TOO_MANY_ATTEMPTS',
  /** A create with a key that already exists (never a silent overwrite). */
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  /** A reference to something that does not exist or does not fit (a contract's customer, a device's contract). */
  REFERENCE_INVALID: 'REFERENCE_INVALID',
  /** The thing is still used by others (a customer with devices, ...). */
  IN_USE: 'IN_USE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class AppError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable detail (e.g. the list of validation issues). Never holds secrets. */
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: readonly string[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details ?? [];
  }
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}
