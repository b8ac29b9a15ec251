import { describe, expect, it } from 'vitest';
import { AgentCredentials, hashPassword } from '../../hub/broker/credentials.ts';
import { AgentCredential } from '../../hub/config.ts';

const pw = (s: string) => Buffer.from(s);

describe('agent MQTT credentials', () => {
  it('a plain password from the config is checked without any scrypt work', async () => {
    const creds = new AgentCredentials([
      AgentCredential.parse({ id: 'a1', site: 's1', password: 'correct horse battery' }),
    ]);
    expect(await creds.verify('a1', pw('correct horse battery'))).toEqual({ agentId: 'a1', site: 's1' });
    expect(await creds.verify('a1', pw('wrong password'))).toBeUndefined();
    expect(await creds.verify('nobody', pw('correct horse battery'))).toBeUndefined();
    expect(await creds.verify('a1', undefined)).toBeUndefined();
  });

  it('scrypt hashes with the default cost and with a chosen cost both verify', async () => {
    const strong = hashPassword('agent-secret-1');
    const light = hashPassword('agent-secret-2', undefined, 10);
    expect(strong).toMatch(/^scrypt\$[^$]+\$[^$]+$/);
    expect(light).toMatch(/^scrypt\$10\$[^$]+\$[^$]+$/);
    const creds = new AgentCredentials([
      AgentCredential.parse({ id: 'a1', site: 's1', passwordHash: strong }),
      AgentCredential.parse({ id: 'a2', site: 's2', passwordHash: light }),
    ]);
    expect(await creds.verify('a1', pw('agent-secret-1'))).toEqual({ agentId: 'a1', site: 's1' });
    expect(await creds.verify('a2', pw('agent-secret-2'))).toEqual({ agentId: 'a2', site: 's2' });
    expect(await creds.verify('a2', pw('agent-secret-1'))).toBeUndefined();
    // the remembered verification is still bound to the right password
    expect(await creds.verify('a1', pw('agent-secret-1'))).toEqual({ agentId: 'a1', site: 's1' });
    expect(await creds.verify('a1', pw('agent-secret-2'))).toBeUndefined();
  });

  it('the config refuses a malformed hash', () => {
    const result = AgentCredential.safeParse({ id: 'a1', site: 's1', passwordHash: 'md5$abc' });
    expect(result.success).toBe(false);
  });
});
