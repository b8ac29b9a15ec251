/**
 * Generates docs/configuration.md from the hub and agent config schemas (`npm run docs:config`), so the
 * reference can never drift from what the programs accept (test/unit/config-reference.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { HUB_ENV_OVERRIDES, HubConfig } from '../hub/config.ts';
import { AGENT_ENV_OVERRIDES, AgentConfig } from '../protocols/agent-config.ts';

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
  format?: string;
  minItems?: number;
}

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum !== undefined) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (s.anyOf !== undefined) return s.anyOf.map(typeOf).join(' \\| ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.format !== undefined) return `${String(s.type ?? 'string')} (${s.format})`;
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
}

function constraints(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.minimum !== undefined) parts.push(`>= ${s.minimum}`);
  if (s.maximum !== undefined) parts.push(`<= ${s.maximum}`);
  if (s.minLength !== undefined && s.minLength > 1) parts.push(`at least ${s.minLength} characters`);
  if (s.minItems !== undefined) parts.push(`at least ${s.minItems} item(s)`);
  if (s.pattern !== undefined) parts.push(`pattern \`${s.pattern.replaceAll('|', '\\|')}\``);
  if (s.description !== undefined) parts.push(s.description);
  return parts.join('; ');
}

function rows(schema: JsonSchema, prefix: string, out: string[]): void {
  const required = new Set(schema.required ?? []);
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const shown =
      child.default === undefined || child.properties !== undefined ? '' : `\`${JSON.stringify(child.default)}\``;
    const isRequired = required.has(key) && child.default === undefined;
    out.push(`| \`${path}\` | ${typeOf(child)} | ${isRequired ? 'yes' : ''} | ${shown} | ${constraints(child)} |`);
    if (child.properties !== undefined) rows(child, path, out);
    if (child.type === 'array' && child.items?.properties !== undefined) rows(child.items, `${path}[]`, out);
  }
}

function section(title: string, schema: z.ZodType, env: Record<string, string>): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out = [`## ${title}`, '', '| field | type | required | default | constraints |', '|---|---|---|---|---|'];
  rows(json, '', out);
  out.push('', 'Environment overrides (secrets never need to be in the file):', '');
  for (const [name, path] of Object.entries(env)) out.push(`- \`${name}\` -> \`${path}\``);
  return out.join('\n');
}

export function configReference(): string {
  return [
    '# Configuration reference',
    '',
    'Generated from the schemas by `npm run docs:config` (hub: `hub/config.ts`, agent: `protocols/agent-config.ts`);',
    'a test fails when this file differs from the schemas. Files are YAML or JSON; unknown fields are errors;',
    'a wrong field makes `hezo hub|agent --config FILE` exit 2 with one line naming it. Examples: `examples/`.',
    '',
    section('Hub (`hezo hub --config FILE`)', HubConfig, HUB_ENV_OVERRIDES),
    '',
    section('Agent (`hezo agent --config FILE`)', AgentConfig, AGENT_ENV_OVERRIDES),
    '',
  ].join('\n');
}

export const CONFIG_REFERENCE_FILE = resolve(import.meta.dirname, '../docs/configuration.md');

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  writeFileSync(CONFIG_REFERENCE_FILE, configReference());
}
