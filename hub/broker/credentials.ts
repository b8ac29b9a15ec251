/**
 * Agent MQTT credentials, compared in constant time.
 * - `passwordHash: scrypt$<saltB64>$<hashB64>` (N=2^14, r=8, p=1) or `scrypt$<log2N>$<saltB64>$<hashB64>`: the
 *   config holds no password. Fleets of thousands of agents with machine-generated secrets may choose a lower
 *   cost (e.g. log2N 10) so a reconnect storm after a hub restart stays within seconds.
 * - `password` (plain, from the config or environment): the config already holds the secret, so a slow hash would
 *   protect nothing; it is kept only as an HMAC under a per-process key and compared with no scrypt at all.
 * A verified password is remembered as such an HMAC too, so a reconnect storm costs one scrypt per agent at most.
 */
import { createHmac, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import type { AgentCredential } from '../config.ts';

const DEFAULT_LOG2_N = 14;
const KEY_BYTES = 32;

export interface AgentIdentity {
  agentId: string;
  site: string;
}

interface StoredCredential extends AgentIdentity {
  /** Set for `passwordHash` credentials. */
  scrypt?: { salt: Buffer; hash: Buffer; log2N: number };
}

function scryptOptions(log2N: number) {
  return { N: 2 ** log2N, r: 8, p: 1, maxmem: 128 * 2 ** log2N * 8 * 2 } as const;
}

/** `scrypt$<salt>$<hash>` (default cost) or `scrypt$<log2N>$<salt>$<hash>` for a password. */
export function hashPassword(password: string, salt: Buffer = randomBytes(16), log2N = DEFAULT_LOG2_N): string {
  const hash = scryptSync(password, salt, KEY_BYTES, scryptOptions(log2N));
  const cost = log2N === DEFAULT_LOG2_N ? '' : `${log2N}$`;
  return `scrypt$${cost}${salt.toString('base64')}$${hash.toString('base64')}`;
}

function parseHash(encoded: string): { salt: Buffer; hash: Buffer; log2N: number } {
  const parts = encoded.split('$');
  const [log2N, salt = '', hash = ''] =
    parts.length === 4 ? [Number(parts[1]), parts[2], parts[3]] : [DEFAULT_LOG2_N, parts[1], parts[2]];
  return { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64'), log2N };
}

function scryptAsync(password: Buffer, salt: Buffer, length: number, log2N: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, scryptOptions(log2N), (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export class AgentCredentials {
  private readonly byId = new Map<string, StoredCredential>();
  private readonly verified = new Map<string, Buffer>();
  private readonly cacheKey = randomBytes(32);

  constructor(agents: readonly AgentCredential[]) {
    for (const agent of agents) {
      if (agent.passwordHash !== undefined) {
        this.byId.set(agent.id, { agentId: agent.id, site: agent.site, scrypt: parseHash(agent.passwordHash) });
      } else {
        // Never an empty secret: an agent without any password can never log in.
        if (agent.password === undefined || agent.password === '') continue;
        this.byId.set(agent.id, { agentId: agent.id, site: agent.site });
        this.verified.set(agent.id, this.mac(agent.id, Buffer.from(agent.password ?? '')));
      }
    }
  }

  /** Add or replace an agent at run time (registry API): new agents connect without a restart. */
  set(agent: { id: string; site: string; passwordHash: string }): void {
    this.byId.set(agent.id, { agentId: agent.id, site: agent.site, scrypt: parseHash(agent.passwordHash) });
    this.verified.delete(agent.id);
  }

  /** Forget an agent: its next connect is refused. */
  delete(agentId: string): void {
    this.byId.delete(agentId);
    this.verified.delete(agentId);
  }

  private mac(agentId: string, password: Buffer): Buffer {
    return createHmac('sha256', this.cacheKey).update(agentId).update('\0').update(password).digest();
  }

  identity(agentId: string): AgentIdentity | undefined {
    const stored = this.byId.get(agentId);
    return stored === undefined ? undefined : { agentId: stored.agentId, site: stored.site };
  }

  /** The agent's identity when the password matches, else undefined. Never throws. */
  async verify(agentId: string | undefined, password: Buffer | undefined): Promise<AgentIdentity | undefined> {
    if (agentId === undefined || password === undefined) return undefined;
    const stored = this.byId.get(agentId);
    const mac = this.mac(agentId, password);
    if (stored === undefined) return undefined;
    const cached = this.verified.get(agentId);
    if (cached !== undefined && timingSafeEqual(cached, mac)) return { agentId, site: stored.site };
    if (stored.scrypt === undefined) return undefined;
    const { salt, hash, log2N } = stored.scrypt;
    let derived: Buffer;
    try {
      derived = await scryptAsync(password, salt, hash.length, log2N);
    } catch {
      return undefined;
    }
    if (derived.length !== hash.length || !timingSafeEqual(derived, hash)) return undefined;
    this.verified.set(agentId, mac);
    return { agentId, site: stored.site };
  }
}
