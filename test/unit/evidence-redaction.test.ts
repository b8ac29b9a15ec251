/** Issue 7: the hub redacts attachments before storing them (planted secrets never survive). */
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { archiveLines, redactAttachment, redactEvidenceText } from '../../hub/evidence/redaction.ts';
import { isGzip, packTar, readTarEntries } from '../../protocols/tar-archive.ts';
import { PLANTED, plantedFiles } from '../helpers/evidence-planted.ts';

const leaks = (text: string) => Object.values(PLANTED).filter((secret) => text.includes(secret));

describe('hub-side redaction', () => {
  it('masks every planted secret in text', () => {
    for (const text of plantedFiles().values()) expect(leaks(redactEvidenceText(text))).toEqual([]);
    expect(redactEvidenceText('Authorization: Bearer abc.def.ghi')).toBe('Authorization: Bearer ***');
  });

  it('re-packs a tar.gz with every text entry redacted and keeps the rest of the content', async () => {
    const files = plantedFiles();
    const tgz = await packTar(
      [...files].map(([path, text]) => ({
        path,
        type: 'File',
        mode: 0o644,
        mtime: new Date(0),
        data: Buffer.from(text),
      })),
      true,
    );
    expect(leaks(gunzipSync(tgz).toString('latin1')).length).toBeGreaterThan(0);
    const out = await redactAttachment(tgz);
    expect(isGzip(out)).toBe(true);
    const entries = await readTarEntries(gunzipSync(out));
    expect(entries.map((e) => e.path)).toEqual([...files.keys()]);
    const all = entries.map((e) => e.data.toString('utf8')).join('\n');
    expect(leaks(all)).toEqual([]);
    expect(all).toContain('I/Auth: login admin password=***');
    expect(leaks(gunzipSync(out).toString('latin1'))).toEqual([]);
    expect((await archiveLines(out)).some((l) => l.includes('I/Auth'))).toBe(true);
  });

  it('masks known secrets (the hub config) in binary data and leaves other binary bytes alone', async () => {
    const random = randomBytes(64 * 1024);
    random[10] = 0;
    expect(await redactAttachment(random)).toBe(random);
    const withSecret = Buffer.concat([random, Buffer.from('agent-1-secret'), random]);
    const out = await redactAttachment(withSecret, ['agent-1-secret']);
    expect(out.includes(Buffer.from('agent-1-secret'))).toBe(false);
    expect(out.length).toBe(withSecret.length);
  });

  it('refuses a tar it cannot parse instead of storing it unredacted', async () => {
    const tar = await packTar(
      [{ path: 'a.log', type: 'File', mode: 0o644, mtime: new Date(0), data: Buffer.from('x'.repeat(2000)) }],
      false,
    );
    const broken = Buffer.concat([tar.subarray(0, 512), Buffer.from('password=oops')]);
    broken.write('garbage!', 148, 'latin1'); // corrupt the header checksum
    await expect(redactAttachment(broken)).rejects.toThrow();
  });
});
