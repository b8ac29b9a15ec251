import { type ParseArgsConfig, parseArgs } from 'node:util';
import { AppError, ErrorCode } from './errors.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict flag parsing: an unknown flag or a missing value is a USAGE error (exit 2). */
export function parseFlags<O extends Options>(command: string, args: string[], options: O) {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new AppError(ErrorCode.USAGE, `hezo ${command}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

export function intFlag(
  command: string,
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new AppError(
      ErrorCode.USAGE,
      `hezo ${command}: --${name}: expected an integer ${min}..${max}, got "${value}"`,
    );
  }
  return n;
}

export function requireFlag(command: string, name: string, value: string | undefined): string {
  if (value === undefined || value === '')
    throw new AppError(ErrorCode.USAGE, `hezo ${command}: --${name} is required`);
  return value;
}
