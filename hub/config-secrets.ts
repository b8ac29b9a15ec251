/**
 * Loading the hub config with its secrets: agent passwords from the environment (`HEZO_AGENT_<ID>_PASSWORD`,
 * the id upper-cased with every other character than A-Z 0-9 as `_`) or from a file (`passwordFile`), and the
 * safe-default checks a schema cannot express: the published example secrets are refused unless `demo: true`,
 * and `mqtt.allowAnonymous` needs `mqtt.insecureDevelopmentOnly`.
 */
import { readFileSync } from 'node:fs';
import { buildConfig, readConfigFile } from '../protocols/config-common.ts';
import { AppError, ErrorCode } from '../protocols/errors.ts';
import { HUB_ENV_OVERRIDES, HubConfig } from './config.ts';

/**
 * Secrets published in examples/hub.yaml, deploy/hub.compose.yaml and deploy/agent.compose.yaml (a unit test
 * keeps this list in step with those files). Anyone can read them, so a real hub must not accept them.
 */
export const EXAMPLE_SECRETS: readonly string[] = ['change-me-change-me-change-me', 'agent-krakow-password'];

/**
 * Config values that are secrets although their key does not say `password` (so key-based redaction misses them):
 * `database.url` (HEZO_DATABASE_URL) holds the PostgreSQL password. Returned as the whole value and the password
 * alone, for the redaction of logs, notes and evidence (hub/evidence/redaction.ts `hubKnownSecrets`).
 */
export function embeddedConfigSecrets(config: { readonly database?: { readonly url: string } | undefined }): string[] {
  const url = config.database?.url;
  if (url === undefined) return [];
  const out = [url];
  try {
    const parsed = new URL(url);
    const password = decodeURIComponent(parsed.password);
    if (password !== '') out.push(password);
    const inQuery = parsed.searchParams.get('password');
    if (inQuery !== null && inQuery !== '') out.push(inQuery);
  } catch {
    // not a parseable URL: the whole value is already listed
  }
  return out;
}

/** `postgres://hezo:s3cret@db:5432/hezo` -> `postgres://hezo:***@db:5432/hezo` (for log lines and errors). */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

/** `agent-krakow` -> `HEZO_AGENT_AGENT_KRAKOW_PASSWORD`. */
export function agentPasswordEnv(agentId: string): string {
  return `HEZO_AGENT_${agentId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD`;
}

/** Fill each agent's `password` from the environment or its `passwordFile` (environment wins over the file). */
function applyAgentSecrets(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, where: string): void {
  const agents = raw.agents;
  if (!Array.isArray(agents)) return;
  agents.forEach((agent: unknown, i) => {
    if (typeof agent !== 'object' || agent === null) return;
    const a = agent as Record<string, unknown>;
    if (typeof a.id !== 'string') return;
    const fromEnv = env[agentPasswordEnv(a.id)];
    if (fromEnv !== undefined && fromEnv !== '') {
      a.password = fromEnv;
      return;
    }
    if (typeof a.passwordFile === 'string' && a.password === undefined) {
      try {
        a.password = readFileSync(a.passwordFile, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        throw new AppError(
          ErrorCode.CONFIG_INVALID,
          `${where}: agents[${i}].passwordFile: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
          { cause: err },
        );
      }
    }
  });
}

/** Cross-field safety checks; CONFIG_INVALID naming the field. */
export function checkSafeDefaults(config: Readonly<HubConfig>, where: string): void {
  if (config.mqtt.allowAnonymous && !config.mqtt.insecureDevelopmentOnly) {
    throw new AppError(
      ErrorCode.CONFIG_INVALID,
      `${where}: mqtt.allowAnonymous: turns off agent authentication; allowed only with mqtt.insecureDevelopmentOnly: true`,
    );
  }
  config.agents.forEach((agent, i) => {
    if (agent.password === undefined && agent.passwordHash === undefined) {
      throw new AppError(
        ErrorCode.CONFIG_INVALID,
        `${where}: agents[${i}].password: expected a password (${agentPasswordEnv(agent.id)} or passwordFile) or passwordHash`,
      );
    }
  });
  if (config.demo) return;
  const example = (value: string | undefined) => value !== undefined && EXAMPLE_SECRETS.includes(value);
  if (example(config.api.token)) {
    throw new AppError(
      ErrorCode.CONFIG_INVALID,
      `${where}: api.token: the published example token; set HEZO_API_TOKEN to a secret of your own (or demo: true)`,
    );
  }
  config.api.readTokens.forEach((token, i) => {
    if (example(token))
      throw new AppError(ErrorCode.CONFIG_INVALID, `${where}: api.readTokens[${i}]: the published example token`);
  });
  config.agents.forEach((agent, i) => {
    if (example(agent.password)) {
      throw new AppError(
        ErrorCode.CONFIG_INVALID,
        `${where}: agents[${i}].password: the published example password; set ${agentPasswordEnv(agent.id)} (or demo: true)`,
      );
    }
  });
}

/** Read, fill secrets from the environment, validate, check: the hub's whole config loading. */
export function loadHubConfig(file: string, env: NodeJS.ProcessEnv): Readonly<HubConfig> {
  const raw = readConfigFile(file);
  applyAgentSecrets(raw, env, file);
  const config = buildConfig(HubConfig, raw, env, HUB_ENV_OVERRIDES, file);
  checkSafeDefaults(config, file);
  return config;
}

/** The same for a config value already in memory (tests, demo). */
export function buildHubConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, where = 'config') {
  const value = structuredClone(raw);
  applyAgentSecrets(value, env, where);
  const config = buildConfig(HubConfig, value, env, HUB_ENV_OVERRIDES, where);
  checkSafeDefaults(config, where);
  return config;
}
