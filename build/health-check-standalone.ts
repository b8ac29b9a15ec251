/**
 * Build step (agent bundle): the source of protocols/health-check.ts as ajv *standalone* code, generated from
 * `healthJsonSchema()` (protocols/health-validator.ts, from the zod schema) with the options health-validator.ts
 * compiles it with at run time. The module exports `healthCheck(value): boolean`, like protocols/health-check.ts.
 * build/build.mjs bundles this file, runs it once per build and loads the result in place of health-check.ts.
 */
import { Ajv } from 'ajv';
import { healthJsonSchema } from '../protocols/health-validator.ts';
import { standaloneModule } from './ajv-standalone.ts';

export function healthCheckModuleSource(): string {
  const ajv = new Ajv({
    unicodeRegExp: false,
    validateFormats: false,
    strict: true,
    allErrors: false,
    code: { source: true, esm: true },
  });
  ajv.addFormat('date-time', true);
  const { imports, code } = standaloneModule(ajv, ajv.compile(healthJsonSchema()));
  return [
    ...imports,
    code,
    '',
    '/** Generated at build time from the zod HealthRecord (build/health-check-standalone.ts). */',
    'export function healthCheck(value) {',
    '  return validate(value) === true;',
    '}',
    '',
  ].join('\n');
}
