/**
 * Build step (agent bundle): the source of protocols/health-check.ts as ajv *standalone* code, generated from
 * `healthJsonSchema()` (protocols/health-validator.ts, from the zod schema) with the options health-validator.ts
 * compiles it with at run time. The module exports `healthCheck(value): boolean`, like protocols/health-check.ts.
 * build/build.mjs bundles this file, runs it once per build and loads the result in place of health-check.ts.
 */
import { Ajv } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import { healthJsonSchema } from '../protocols/health-validator.ts';

// CommonJS with `exports.default`: node's own ESM loader gives module.exports, esbuild and vite its default
type StandaloneCode = typeof standalone.default;
const standaloneCode: StandaloneCode =
  (standalone as unknown as { default?: StandaloneCode }).default ?? (standalone as unknown as StandaloneCode);

export function healthCheckModuleSource(): string {
  const ajv = new Ajv({
    unicodeRegExp: false,
    validateFormats: false,
    strict: true,
    allErrors: false,
    code: { source: true, esm: true },
  });
  ajv.addFormat('date-time', true);
  const validate = ajv.compile(healthJsonSchema());
  // ajv's standalone ESM still `require`s its small run-time helpers (e.g. ucs2length): imports, so they are bundled
  const imports: string[] = [];
  const code = standaloneCode(ajv, validate).replace(
    /require\("(ajv\/dist\/runtime\/[a-z0-9_]+)"\)\.default/g,
    (_, path: string) => {
      const name = `__ajvRuntime${imports.length}`;
      // CommonJS with `exports.default`: esbuild's default import is that function outside a `"type": "module"`
      // package and module.exports inside one (the agent bundle's case): take the function either way
      imports.push(
        `import ${name}Module from "${path}.js";`,
        `const ${name} = ${name}Module.default ?? ${name}Module;`,
      );
      return name;
    },
  );
  if (/\brequire\(/.test(code)) throw new Error('health check standalone code: an unexpected require() left');
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
