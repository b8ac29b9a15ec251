/**
 * Build step helper: ajv *standalone* ESM code for compiled validators, with ajv's small run-time helpers (e.g.
 * ucs2length) imported rather than `require`d, so esbuild bundles them into the agent.
 */

import type { Ajv } from 'ajv';
import type { AnyValidateFunction } from 'ajv/dist/core.js';
import standalone from 'ajv/dist/standalone/index.js';

// CommonJS with `exports.default`: node's own ESM loader gives module.exports, esbuild and vite its default
type StandaloneCode = typeof standalone.default;
const standaloneCode: StandaloneCode =
  (standalone as unknown as { default?: StandaloneCode }).default ?? (standalone as unknown as StandaloneCode);

/** The module's source: the `imports` it needs, then the code (`validate`, or one export per entry of `refs`). */
export function standaloneModule(
  ajv: Ajv,
  what: AnyValidateFunction | Record<string, string>,
): { imports: string[]; code: string } {
  const imports: string[] = [];
  const code = standaloneCode(ajv, what as Record<string, string>).replace(
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
  if (/\brequire\(/.test(code)) throw new Error('ajv standalone code: an unexpected require() left');
  return { imports, code };
}
