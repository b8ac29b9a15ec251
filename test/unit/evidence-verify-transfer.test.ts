/**
 * What of a whole transfer may be stored (hub/evidence/verify-transfer.ts): the announced sha256, the bounded
 * inflate of archives, redaction that must parse, and the size cap after redaction. Each refusal names the file and
 * why (the note on the ticket); only redacted bytes are ever returned for storage.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyTransfer } from '../../hub/evidence/verify-transfer.ts';

const dir = mkdtempSync(join(tmpdir(), 'hezo-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const limits = {
  maxBytesPerAttachment: 4096,
  maxBytesPerTicket: 8192,
  collectTimeoutMs: 1000,
  maxDecompressedBytes: 2048,
};
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let n = 0;

function temp(data: Buffer, announced = sha(data)) {
  const path = join(dir, `t${++n}.part`);
  writeFileSync(path, data);
  return { path, row: { name: 'device-logs.txt', serial: '8L2X50-0001', transferId: `tr-${n}`, sha256: announced } };
}

describe('verifyTransfer', () => {
  it('returns the redacted bytes of a good file', async () => {
    const t = temp(Buffer.from('boot ok\nadminPassword=hunter2-secret\n'));
    const v = await verifyTransfer(t.path, t.row, { limits, knownSecrets: [] });
    expect(v.ok).toBe(true);
    const text = v.ok ? v.stored.toString() : '';
    expect(text).toContain('boot ok');
    expect(text).not.toContain('hunter2-secret');
  });

  it('refuses a file whose bytes do not match the announced sha256', async () => {
    const t = temp(Buffer.from('hello\n'), 'a'.repeat(64));
    const v = await verifyTransfer(t.path, t.row, { limits, knownSecrets: [] });
    expect(v).toMatchObject({ ok: false, log: { message: 'attachment checksum mismatch: discarded' } });
    expect(v.ok ? '' : v.reason).toMatch(
      /^CHECKSUM_MISMATCH: device-logs.txt from 8L2X50-0001 \(transfer tr-\d+\): expected sha256 a{64}, got [0-9a-f]{64}/,
    );
  });

  it('refuses an archive that expands beyond maxDecompressedBytes', async () => {
    const t = temp(gzipSync(Buffer.alloc(10_000)));
    const v = await verifyTransfer(t.path, t.row, { limits, knownSecrets: [] });
    expect(v.ok ? '' : v.reason).toBe(
      'ARCHIVE_REFUSED: device-logs.txt from 8L2X50-0001 expands beyond the limit of 2048 bytes (attachments.maxDecompressedBytes); refused, not stored',
    );
  });

  it('refuses a tar that cannot be parsed for redaction', async () => {
    const broken = Buffer.alloc(1024, 0x41);
    broken.write('ustar', 257, 'latin1'); // looks like a tar, its header checksum is garbage
    const t = temp(broken);
    const v = await verifyTransfer(t.path, t.row, { limits, knownSecrets: [] });
    expect(v.ok ? '' : v.reason).toBe(
      'REDACTION_FAILED: device-logs.txt could not be parsed for redaction; not stored',
    );
  });

  it('refuses a file larger than maxBytesPerAttachment after redaction', async () => {
    const t = temp(Buffer.alloc(5000, 'x'));
    const v = await verifyTransfer(t.path, t.row, { limits, knownSecrets: [] });
    expect(v.ok ? '' : v.reason).toBe('ATTACHMENT_TOO_LARGE: device-logs.txt is 5000 bytes, limit 4096');
  });
});
