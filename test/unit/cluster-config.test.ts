/**
 * Issue 16: the `database` / `cluster` config sections: defaults, HEZO_DATABASE_URL, cross-field timing rules named
 * by field, and the database password registered as a secret (redaction of notes/evidence, log lines).
 */
import { describe, expect, it } from 'vitest';
import { clusterTiming } from '../../hub/cluster/cluster-config.ts';
import { buildHubConfig, embeddedConfigSecrets, redactDatabaseUrl } from '../../hub/config-secrets.ts';
import { hubKnownSecrets, redactEvidenceText } from '../../hub/evidence/redaction.ts';

const BASE = { version: 1, api: { token: 'a-token-of-at-least-16-chars' } };
const URL_WITH_PASSWORD = 'postgres://hezo:S3cret%2Fpw@db.example:5432/hezo';

describe('cluster config', () => {
  it('defaults: no database (single node), 16 partitions, 10 s lease renewed every 2 s, margin 2 s', () => {
    const config = buildHubConfig(BASE);
    expect(config.database).toBeUndefined();
    expect(config.cluster).toEqual({ partitions: 16, leaseMs: 10_000, renewMs: 2_000 });
    expect(clusterTiming(config.cluster)).toEqual({ leaseMs: 10_000, renewMs: 2_000, marginMs: 2_000 });
  });

  it('HEZO_DATABASE_URL sets database.url (and wins over the file)', () => {
    const config = buildHubConfig(
      { ...BASE, database: { url: 'postgres://x@file/db' } },
      {
        HEZO_DATABASE_URL: URL_WITH_PASSWORD,
      },
    );
    expect(config.database?.url).toBe(URL_WITH_PASSWORD);
  });

  it('bad values are refused naming the field', () => {
    expect(() => buildHubConfig({ ...BASE, database: { url: 'mysql://db/x' } })).toThrow(/database\.url/);
    expect(() => buildHubConfig({ ...BASE, cluster: { leaseMs: 10_000, renewMs: 5_000 } })).toThrow(
      /cluster\.renewMs.*renewMs \(5000\) must be at most a third of leaseMs \(10000\)/s,
    );
    expect(() => buildHubConfig({ ...BASE, cluster: { leaseMs: 3_000, renewMs: 1_000, marginMs: 2_500 } })).toThrow(
      /cluster\.marginMs.*below leaseMs - renewMs \(2000\)/s,
    );
    expect(() => buildHubConfig({ ...BASE, cluster: { partitions: 0 } })).toThrow(/cluster\.partitions/);
    expect(() => buildHubConfig({ ...BASE, cluster: { nodes: 2 } })).toThrow(/nodes/);
  });

  it('the database password is a known secret: masked in notes and evidence, never in a redacted URL', () => {
    const config = buildHubConfig(BASE, { HEZO_DATABASE_URL: URL_WITH_PASSWORD });
    expect(embeddedConfigSecrets(config)).toEqual([URL_WITH_PASSWORD, 'S3cret/pw']);
    expect(hubKnownSecrets(config)).toEqual(expect.arrayContaining([URL_WITH_PASSWORD, 'S3cret/pw']));
    const text = redactEvidenceText('connecting with S3cret/pw now', hubKnownSecrets(config));
    expect(text).not.toContain('S3cret/pw');
    expect(redactDatabaseUrl(URL_WITH_PASSWORD)).toBe('postgres://hezo:***@db.example:5432/hezo');
    expect(redactDatabaseUrl('postgres://h@db/x?password=qq')).toBe('postgres://h@db/x');
    expect(embeddedConfigSecrets({ database: { url: 'postgres://h@db/x?password=qq' } })).toContain('qq');
    expect(embeddedConfigSecrets({})).toEqual([]);
  });
});
