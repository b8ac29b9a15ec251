import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { create } from 'tar';
import { describe, expect, it } from 'vitest';
import { listArchive, redactArchive, redactText } from '../../protocols/redact.ts';

const SESSION = 'PSN0HppfZap7wtV9MgTeGKLZL+q8q+65Te6g/r61KLqC26+thY';

describe('redactText', () => {
  it('masks known secrets and secret-looking pairs', () => {
    const text = [
      'login user=admin password=hunter22 ok',
      `{"user":"admin","password":"s3cr\\"et","session":{"sessionId":"${SESSION}"}}`,
      'Cookie: session_id=abc123; XSRF-TOKEN=tok456',
      'x-xsrf-token: tok456',
      'snmp community my-community-x in use',
      'plain line stays',
    ].join('\n');
    const out = redactText(text, ['my-community-x', 'hunter22']);
    for (const secret of ['hunter22', 's3cr', SESSION, 'abc123', 'tok456', 'my-community-x']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('plain line stays');
    expect(out).toContain('user=admin');
  });

  it('masks very short known secrets only where they stand as a token (ordinary text stays)', () => {
    expect(redactText('a b c', ['b'])).toBe('a *** c');
    expect(redactText('abc', ['b'])).toBe('abc');
  });
});

describe('redactArchive', () => {
  async function tarOf(files: Record<string, string>, gzip: boolean): Promise<Buffer> {
    const dir = mkdtempSync(join(tmpdir(), 'redact-'));
    for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
    const chunks: Buffer[] = [];
    for await (const c of create({ gzip, cwd: dir, portable: true }, Object.keys(files))) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  it('redacts every text entry of a gzipped tar and re-packs it', async () => {
    const archive = await tarOf(
      { 'system.log': 'auth password=topsecret1\nok\n', 'app.log': `sid ${SESSION}\n` },
      true,
    );
    const out = await redactArchive(archive, ['topsecret1']);
    expect(out[0]).toBe(0x1f);
    expect((await listArchive(out)).sort()).toEqual(['app.log', 'system.log']);
    const plain = gunzipSync(out).toString('latin1');
    expect(plain).not.toContain('topsecret1');
    expect(plain).not.toContain(SESSION);
    expect(plain).toContain('auth password=***');
  });

  it('redacts plain text and masks secrets inside binary data', async () => {
    expect((await redactArchive(Buffer.from('password: abc12345'), [])).toString()).toBe('password: ***');
    const bin = Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from('xxtopsecret1xx')]);
    expect((await redactArchive(bin, ['topsecret1'])).toString('latin1')).not.toContain('topsecret1');
  });
});
