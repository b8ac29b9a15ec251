/**
 * Redaction of attachments before the hub stores them (architecture.md: secrets never appear in attachments).
 * The agent already redacts with the device secrets it knows; the hub does not know those, so it applies the
 * shared patterns of `protocols/redact.ts`, a few broader ones (any key that contains `password`, `community`,
 * `secret`, `token`; snmpd-style `rocommunity <value>`) and the secrets of its own config.
 */
import { gunzipSync } from 'node:zlib';
import { isProbablyText, MASK, redactArchive, redactText } from '../../protocols/redact.ts';
import { isGzip, isTar, readTarEntries } from '../../protocols/tar-archive.ts';
import type { HubConfig } from '../config.ts';
import { embeddedConfigSecrets } from '../config-secrets.ts';

const KEYISH = `[A-Za-z0-9_.-]*(?:password|passwd|passphrase|secret|community|token|session_?id|api_?key|auth_?key|priv_?key)[A-Za-z0-9_.-]*`;
/** `"snmpCommunity": "value"`, `"adminPassword":"value"`: keys that merely contain a secret word. */
const JSON_KEYISH = new RegExp(String.raw`("${KEYISH}"\s*:\s*")((?:[^"\\]|\\.)*)(")`, 'gi');
/** `snmp.readCommunity=value`, `xsrfToken: value`. */
const KV_KEYISH = new RegExp(String.raw`(\b${KEYISH}\s*[=:]\s*)(?!\*\*\*)([^\s;&,"'<>]+)`, 'gi');
/** snmpd.conf: `rocommunity public default`, `community2 secret`. */
const SNMPD_COMMUNITY = /^(\s*(?:ro|rw)?community6?\s+)(?!\*\*\*)(\S+)/gim;
/** HTTP `Authorization: Bearer xyz` / `Basic xyz`. */
const AUTH_HEADER = /(\bauthorization\s*:\s*(?:bearer|basic)\s+)(?!\*\*\*)(\S+)/gi;

/** Secrets the hub itself knows (its config): agent MQTT passwords, API tokens, SMTP/InfluxDB/webhook secrets. */
export function hubKnownSecrets(config: Readonly<HubConfig>): string[] {
  const out: string[] = [config.api.token, ...config.api.readTokens];
  for (const a of config.agents) if (a.password !== undefined) out.push(a.password);
  if (config.mqtt.password !== undefined) out.push(config.mqtt.password);
  if (config.influx?.password !== undefined) out.push(config.influx.password);
  if (config.notifications.smtp?.password !== undefined) out.push(config.notifications.smtp.password);
  for (const w of config.notifications.webhooks) out.push(w.secret);
  out.push(...embeddedConfigSecrets(config));
  return out.filter((s) => s.length >= 4);
}

/** The shared patterns, then the hub's broader ones. */
export function redactEvidenceText(text: string, knownSecrets: readonly string[] = []): string {
  return redactText(text, knownSecrets)
    .replace(JSON_KEYISH, (_m, a: string, _v: string, c: string) => `${a}${MASK}${c}`)
    .replace(KV_KEYISH, (_m, a: string) => `${a}${MASK}`)
    .replace(SNMPD_COMMUNITY, (_m, a: string) => `${a}${MASK}`)
    .replace(AUTH_HEADER, (_m, a: string) => `${a}${MASK}`);
}

/**
 * Redact one attachment for storage (see `redactArchive`): the shared patterns plus the hub's broader ones.
 * Throws when a tar cannot be parsed (the caller must not store it then).
 */
export function redactAttachment(data: Buffer, knownSecrets: readonly string[] = []): Promise<Buffer> {
  return redactArchive(data, knownSecrets, redactEvidenceText);
}

/** Text lines of an archive (tar, tar.gz, gzipped text, text); [] for binary or unreadable data. */
export async function archiveLines(data: Buffer, maxInflatedBytes = 64 * 1024 * 1024): Promise<string[]> {
  try {
    const plain = isGzip(data) ? gunzipSync(data, { maxOutputLength: maxInflatedBytes }) : data;
    if (isTar(plain)) {
      const entries = await readTarEntries(plain);
      return entries
        .filter((e) => e.type !== 'Directory' && isProbablyText(e.data))
        .flatMap((e) => e.data.toString('utf8').split('\n'));
    }
    return isProbablyText(plain) ? plain.toString('utf8').split('\n') : [];
  } catch {
    return [];
  }
}
