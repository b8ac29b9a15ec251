import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gunzipBounded, UnpackLimitError } from '../../protocols/gunzip-bounded.ts';

describe('gunzipBounded', () => {
  it('unpacks within the limit, passes plain data through, unpacks nested gzip', async () => {
    const text = Buffer.from('hello log\n'.repeat(100));
    expect(await gunzipBounded(gzipSync(text), 10_000, 'logs', 'x.max')).toEqual(text);
    expect(await gunzipBounded(text, 10, 'logs', 'x.max')).toBe(text);
    expect(await gunzipBounded(gzipSync(gzipSync(text)), 10_000, 'logs', 'x.max')).toEqual(text);
  });

  it('refuses beyond the limit (also hidden one layer down), corrupt gzip and deep nesting, naming the setting', async () => {
    const big = gzipSync(Buffer.alloc(1024 * 1024));
    await expect(gunzipBounded(big, 64 * 1024, 'logs', 'logCache.maxUnpackedBytes')).rejects.toThrow(
      /logs: the archive unpacks to more than 65536 bytes \(logCache.maxUnpackedBytes\); refused/,
    );
    await expect(gunzipBounded(gzipSync(big), 64 * 1024, 'logs', 'x')).rejects.toBeInstanceOf(UnpackLimitError);
    const corrupt = Buffer.concat([gzipSync(Buffer.from('abc')).subarray(0, 12), Buffer.alloc(20, 7)]);
    await expect(gunzipBounded(corrupt, 1000, 'logs', 'x')).rejects.toMatchObject({ code: 'PAYLOAD_INVALID' });
    let deep = Buffer.from('x');
    for (let i = 0; i < 5; i++) deep = gzipSync(deep);
    await expect(gunzipBounded(deep, 1000, 'logs', 'x')).rejects.toThrow(/nested more than 3 deep/);
  });
});
