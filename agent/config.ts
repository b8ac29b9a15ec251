/**
 * The agent's configuration: the shared schema from protocols/ (the simulator writes it too), loaded once,
 * frozen, with cross-field checks the schema cannot express. In the agent bundle this module runs once and is
 * dropped (build/build.mjs `disposablePlugin`): zod, yaml and the schemas are not kept in the running agent.
 */
import { readFileSync } from 'node:fs';
import { AGENT_ENV_OVERRIDES, AgentConfig, type AgentDevice } from '../protocols/agent-config.ts';
import { buildConfig, readConfigFile } from '../protocols/config-common.ts';
import { AppError, ErrorCode } from '../protocols/errors.ts';
import { collectSecrets, isUsbDevice } from './config-facts.ts';

export { AgentConfig, type AgentDevice, collectSecrets, isUsbDevice };

function checkDevices(config: AgentConfig, where: string): void {
  const issues: string[] = [];
  const seen = new Map<string, number>();
  config.devices.forEach((device, i) => {
    const at = `devices[${i}]`;
    const first = seen.get(device.serial);
    if (first !== undefined)
      issues.push(`${at}.serial: expected a unique serial, got "${device.serial}" (also devices[${first}])`);
    seen.set(device.serial, i);
    if (isUsbDevice(device)) return;
    if (device.channels.includes('rest') && device.rest === undefined) {
      issues.push(`${at}.rest: expected REST settings (password) because channels include "rest", got nothing`);
    }
    if (device.channels.includes('snmp') && device.snmp === undefined) {
      issues.push(`${at}.snmp: expected SNMP settings (community or v3) because channels include "snmp", got nothing`);
    }
    if (device.channels.includes('ssh') && device.ssh === undefined) {
      issues.push(`${at}.ssh: expected SSH settings because channels include "ssh", got nothing`);
    }
    if (device.rest?.tls.mode === 'pinned' && device.rest.tls.fingerprint256 === undefined) {
      issues.push(`${at}.rest.tls.fingerprint256: expected a fingerprint for mode "pinned", got nothing`);
    }
  });
  if (issues.length > 0) {
    throw new AppError(ErrorCode.CONFIG_INVALID, `${where}: ${issues.join('; ')}`, { details: issues });
  }
}

/** Deeper than any real agent config (devices[i].snmp.v3.authKey is 5): refused before it is copied or parsed. */
const MAX_CONFIG_DEPTH = 16;

/** Depth of the deepest object/array, walked without recursion (a hostile file cannot overflow the stack). */
function nestingDepth(value: unknown, stopAt: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > stopAt) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * Deepest nesting of `[`/`{` in the file's text outside quotes: a YAML parser needs seconds and 100 MB for
 * 100,000 nested brackets before it fails, so such a file is refused before it is parsed.
 */
function bracketDepth(text: string, stopAt: number): number {
  let depth = 0;
  let deepest = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > stopAt) return deepest;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return deepest;
}

/** Read, validate and freeze the agent config file (YAML or JSON); CONFIG_INVALID names every bad field. */
export function loadAgentConfig(file: string, env: NodeJS.ProcessEnv = process.env): Readonly<AgentConfig> {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // readConfigFile below reports it
  }
  if (bracketDepth(text, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH) {
    throw new AppError(ErrorCode.CONFIG_INVALID, `${file}: nested deeper than ${MAX_CONFIG_DEPTH} levels`);
  }
  const raw = readConfigFile(file);
  if (nestingDepth(raw, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH) {
    throw new AppError(ErrorCode.CONFIG_INVALID, `${file}: nested deeper than ${MAX_CONFIG_DEPTH} levels`);
  }
  const config = buildConfig(AgentConfig, raw, env, AGENT_ENV_OVERRIDES, file);
  checkDevices(config, file);
  return config;
}

/** Validate a config object built in code (tests, demo, bench). */
export function buildAgentConfig(raw: Record<string, unknown>): Readonly<AgentConfig> {
  const config = buildConfig(AgentConfig, raw, {}, {}, 'agent config');
  checkDevices(config, 'agent config');
  return config;
}
