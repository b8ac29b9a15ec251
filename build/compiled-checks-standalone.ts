/**
 * Build step (agent bundle): the source of protocols/compiled-checks.ts as ajv *standalone* code, one validator per
 * check, generated from the same JSON Schemas (`checkJsonSchema`, from the zod schemas) with the same options. The
 * module exports `checkValue(name, value)` like the sources' one; the fields of a failed check are named from ajv's
 * first error (`describeAjvError`, protocols/validation.ts). build/build.mjs bundles this file, runs it once per build
 * and loads the result in place of compiled-checks.ts.
 */
import { Ajv } from 'ajv';
import { AJV_OPTIONS, CHECKED, type CheckName, checkJsonSchema } from '../protocols/compiled-checks.ts';
import { standaloneModule } from './ajv-standalone.ts';

export function compiledChecksModuleSource(): string {
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: true } });
  ajv.addFormat('date-time', true);
  const names = Object.keys(CHECKED) as CheckName[];
  const refs: Record<string, string> = {};
  names.forEach((name, i) => {
    ajv.addSchema(checkJsonSchema(name), name);
    refs[`check${i}`] = name;
  });
  const { imports, code } = standaloneModule(ajv, refs);
  return [
    'import { describeAjvError } from "./protocols/validation.ts";',
    ...imports,
    code,
    '',
    '/** Generated at build time from the zod schemas (build/compiled-checks-standalone.ts). */',
    `const VALIDATORS = { ${names.map((name, i) => `${JSON.stringify(name)}: check${i}`).join(', ')} };`,
    'export function checkValue(name, value) {',
    '  const validate = VALIDATORS[name];',
    '  if (validate(value) === true) return undefined;',
    '  return (validate.errors ?? []).slice(0, 1).map(describeAjvError);',
    '}',
    '',
  ].join('\n');
}
