/**
 * Config loading shared by hub and agent: YAML or JSON file, environment overrides for secrets,
 * one strict schema (unknown keys are errors), validated once and frozen.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError, ErrorCode } from './errors.ts';
import { parseOrThrow } from './validation.ts';

/** Environment variable -> dotted config path (`HEZO_API_TOKEN` -> `api.token`). */
export type EnvOverrides = Readonly<Record<string, string>>;

export const MqttUrl = z.url({
  protocol: /^(mqtt|mqtts|ws|wss|tcp)$/,
  error: 'expected an mqtt://, mqtts://, ws:// or wss:// URL',
});

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Read a YAML or JSON file into a plain value; CONFIG_INVALID when unreadable or not a mapping. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppError(
      ErrorCode.CONFIG_INVALID,
      `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: err,
      },
    );
  }
  let value: unknown;
  try {
    value = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new AppError(
      ErrorCode.CONFIG_INVALID,
      `${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
      {
        cause: err,
      },
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError(ErrorCode.CONFIG_INVALID, `${file}: expected a mapping at the top level`);
  }
  return value as Record<string, unknown>;
}

/** Validate a config value (already read) with environment overrides applied. */
export function buildConfig<S extends z.ZodType>(
  schema: S,
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
  overrides: EnvOverrides = {},
  where = 'config',
): Readonly<z.infer<S>> {
  const value = structuredClone(raw);
  for (const [name, path] of Object.entries(overrides)) {
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') setPath(value, path, fromEnv);
  }
  return deepFreeze(parseOrThrow(schema, value, ErrorCode.CONFIG_INVALID, where));
}

/** `loadConfig(AgentConfig, file, process.env, {HEZO_MQTT_PASSWORD: 'mqtt.password'})`. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  file: string,
  env: NodeJS.ProcessEnv = {},
  overrides: EnvOverrides = {},
): Readonly<z.infer<S>> {
  return buildConfig(schema, readConfigFile(file), env, overrides, file);
}
