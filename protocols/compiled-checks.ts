/**
 * Compiled checks of the wire messages and of the device REST answers, for code that must not hold the zod runtime:
 * the agent (bench B8: zod and its schemas are ~10 MB of a small box's memory). One source of truth still: every
 * check is the JSON Schema of a zod schema (messages.ts, clients/poly-rest-schemas.ts; `z.toJSONSchema`).
 * - From the sources (development, tests): compiled by ajv at first use; when a value fails, zod names the fields
 *   (and has the last word, as in health-validator.ts: the compiled form can only be stricter).
 * - In the agent bundle, build/build.mjs puts ajv *standalone* code generated from the same JSON Schemas in place of
 *   this module (build/compiled-checks-standalone.ts): neither zod nor the ajv compiler runs in the agent; the
 *   fields are named from ajv's first error. test/unit/compiled-checks.test.ts compares both on a corpus.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { z } from 'zod';
import * as Rest from './clients/poly-rest-schemas.ts';
import { healthJsonSchema } from './health-validator.ts';
import { SCHEMAS } from './messages.ts';
import { describeIssues } from './validation.ts';

/** Everything checked by name: the wire messages by topic kind, the REST answers by their schema's name. */
export const CHECKED = {
  ...SCHEMAS,
  LoginResponse: Rest.LoginResponse,
  SystemInfo: Rest.SystemInfo,
  SystemStatus: Rest.SystemStatus,
  Microphones: Rest.Microphones,
  Cameras: Rest.Cameras,
  Conferences: Rest.Conferences,
  MediaStats: Rest.MediaStats,
  Peripherals: Rest.Peripherals,
} as const;
export type CheckName = keyof typeof CHECKED;

/** The ajv options of every compiled check (the standalone build uses the same). */
export const AJV_OPTIONS = {
  unicodeRegExp: false,
  validateFormats: false,
  strict: true,
  allowUnionTypes: true,
  allErrors: false,
} as const;

/** The JSON Schema a check is compiled from. */
export function checkJsonSchema(name: CheckName): Record<string, unknown> {
  if (name === 'health') return healthJsonSchema();
  const schema = z.toJSONSchema(CHECKED[name], { io: 'input', unrepresentable: 'throw' }) as Record<string, unknown>;
  delete schema.$schema;
  return schema;
}

let ajv: Ajv | undefined;
const compiled = new Map<CheckName, ValidateFunction>();

function validator(name: CheckName): ValidateFunction {
  let validate = compiled.get(name);
  if (validate === undefined) {
    if (ajv === undefined) {
      ajv = new Ajv(AJV_OPTIONS);
      ajv.addFormat('date-time', true);
    }
    validate = ajv.compile(checkJsonSchema(name));
    compiled.set(name, validate);
  }
  return validate;
}

/** undefined when `value` passes the check `name`; else one line per issue (`path: what was expected`). */
export function checkValue(name: CheckName, value: unknown): string[] | undefined {
  if (validator(name)(value) === true) return undefined;
  const parsed = CHECKED[name].safeParse(value, { reportInput: true });
  return parsed.success ? undefined : describeIssues(parsed.error.issues);
}
