/**
 * Agent MQTT credentials: scrypt hashes (`scrypt$<saltB64>$<hashB64>`, N=16384 r=8 p=1), constant-time compare.
 * A plain `password` from the config is hashed once at start and then forgotten.
 * A verified password is remembered as an HMAC under a per-process key, so a reconnect storm of thousands
 * of agents costs one scrypt per agent, not one per connect.
 */
import { createHmac, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import type { AgentCredential } from '../config.ts';

const SCRYPT_OPTIONS = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEY_BYTES = 32;

export interface AgentIdentity {
  agentId: string;
  site: string;
}

interface StoredCredential extends AgentIdentity {
  salt: Buffer;
  hash: Buffer;
}

/** `scrypt$<salt>$<hash>` for a password (used by config tooling and tests). */
export function hashPassword(password: string, salt: Buffer = randomBytes(16)): string {
  const hash = scryptSync(password, salt, KEY_BYTES, SCRYPT_OPTIONS);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function parseHash(encoded: string): { salt: Buffer; hash: Buffer } {
  const [, salt = '', hash = ''] = encoded.split('$');
  return { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
}

function scryptAsync(password: Buffer, salt: Buffer, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, SCRYPT_OPTIONS, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export class AgentCredentials {
  private readonly byId = new Map<string, StoredCredential>();
  private readonly verified = new Map<string, Buffer>();
  private readonly cacheKey = randomBytes(32);

  constructor(agents: readonly AgentCredential[]) {
    for (const agent of agents) {
      const { salt, hash } =
        agent.passwordHash !== undefined
          ? parseHash(agent.passwordHash)
          : parseHash(hashPassword(agent.password ?? '', randomBytes(16)));
      this.byId.set(agent.id, { agentId: agent.id, site: agent.site, salt, hash });
    }
  }

  identity(agentId: string): AgentIdentity | undefined {
    const stored = this.byId.get(agentId);
    return stored === undefined ? undefined : { agentId: stored.agentId, site: stored.site };
  }

  /** The agent's identity when the password matches, else undefined. Never throws. */
  async verify(agentId: string | undefined, password: Buffer | undefined): Promise<AgentIdentity | undefined> {
    if (agentId === undefined || password === undefined) return undefined;
    const stored = this.byId.get(agentId);
    if (stored === undefined) {
      // Same work as a known agent, so the answer time does not reveal which agent ids exist.
      await scryptAsync(password, randomBytes(16), KEY_BYTES).catch(() => undefined);
      return undefined;
    }
    const mac = createHmac('sha256', this.cacheKey).update(agentId).update('\0').update(password).digest();
    const cached = this.verified.get(agentId);
    if (cached !== undefined && timingSafeEqual(cached, mac)) return { agentId, site: stored.site };
    let derived: Buffer;
    try {
      derived = await scryptAsync(password, stored.salt, stored.hash.length);
    } catch {
      return undefined;
    }
    if (derived.length !== stored.hash.length || !timingSafeEqual(derived, stored.hash)) return undefined;
    this.verified.set(agentId, mac);
    return { agentId, site: stored.site };
  }
}
