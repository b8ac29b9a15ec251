import type { ErrorObject } from 'ajv';
import type { z } from 'zod';
import { AppError, type ErrorCode } from './errors.ts';
import { MAX_JSON_DEPTH, tooDeep } from './json-guard.ts';

const SECRET_PATH = /pass(word)?|secret|token|community|key|session|xsrf|cookie/i;

/** `devices[2].host` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * ajv's first error as the line zod's issue would give: `path: what was expected` (an unknown key:
 * `path.key: unknown field`). For the compiled checks (compiled-checks.ts and its standalone form in the agent).
 */
export function describeAjvError(error: ErrorObject): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  if (error.keyword === 'additionalProperties') {
    return `${formatPath([...path, String(error.params.additionalProperty)])}: unknown field`;
  }
  return `${formatPath(path)}: ${error.message ?? 'invalid'}`;
}

function describeValue(path: string, value: unknown): string {
  if (SECRET_PATH.test(path)) return '(hidden)';
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // A hostile value (deeply nested, cyclic): describe it without walking it.
    text = Array.isArray(value) ? 'an array' : typeof value;
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * One line per issue: `<path>: <what was expected>, got <what was received>`.
 * Secrets in the received value are hidden by path name.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        lines.push(`${formatPath([...issue.path, key])}: unknown field`);
      }
      continue;
    }
    const path = formatPath(issue.path);
    const message = issue.message.replace(/^Invalid (input|option): /, '');
    const got = 'input' in issue ? `, got ${describeValue(path, issue.input)}` : '';
    lines.push(`${path}: ${message}${message.includes('received') ? '' : got}`);
  }
  return lines;
}

/** `code` for a value nested deeper than any schema expects (checked before a schema walks it). */
export function refuseTooDeep(value: unknown, code: ErrorCode, where: string): void {
  const deep = tooDeep(value);
  if (deep !== undefined) {
    throw new AppError(code, `${where}: ${deep}: nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
}

/** Parse with a schema or throw an AppError whose message lists every issue by dotted path. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  code: ErrorCode,
  where: string,
): z.infer<S> {
  refuseTooDeep(value, code, where);
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const lines = describeIssues(result.error.issues);
  throw new AppError(code, `${where}: ${lines.join('; ')}`, { cause: result.error, details: lines });
}
