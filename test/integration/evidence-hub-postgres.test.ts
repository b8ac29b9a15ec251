/**
 * Issue 16: the evidence module on a real PostgreSQL 15 (the rest of the hub on its SQLite file until those stores
 * move too). A real hub and a real MQTT.js client as the agent: logs and service tests are collected, their bytes
 * stored in PostgreSQL (nothing under the data folder but the empty temp folder), served by the API and summarised;
 * a transfer cut short survives a hub restart in PostgreSQL and is resumed from its first missing chunk; the files
 * an earlier single-node hub left in its data folder are imported at start and served from PostgreSQL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ATTACHMENT_CHUNK_BYTES } from '../../protocols/messages.ts';
import { type EvidenceAgent, type EvidenceAgentOptions, startEvidenceAgent } from '../helpers/evidence-fake-agent.ts';
import { EVIDENCE_AGENT, type EvidenceHub, startEvidenceHub } from '../helpers/evidence-hub.ts';
import { useSqlStores } from '../helpers/sql-stores.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SERIAL = '8L2X50-0003';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const stores = useSqlStores();

let hub: EvidenceHub | undefined;
let agent: EvidenceAgent | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
  await hub?.close();
  hub = undefined;
});

async function setup(config: Record<string, unknown>, agentOptions: Partial<EvidenceAgentOptions>) {
  const sql = await stores.make('postgres');
  const h = await startEvidenceHub(config, { sql });
  hub = h;
  agent = await startEvidenceAgent({
    url: h.urls.mqttUrl,
    agentId: EVIDENCE_AGENT.id,
    site: EVIDENCE_AGENT.site,
    password: EVIDENCE_AGENT.password,
    serial: SERIAL,
    ...agentOptions,
  });
  await waitFor(() => h.hub.ctx.services.commands?.agentFor(SERIAL), { what: 'hub knows the agent of the device' });
  return { h, sql, a: agent };
}

describe('evidence on PostgreSQL', () => {
  it('collects, stores the bytes in PostgreSQL, serves and summarises them', async () => {
    const { h, sql } = await setup({}, {});
    const opened = await h.openAuto(SERIAL);
    const t = await waitFor(
      async () => {
        const x = (await h.tickets.get(opened.id))!;
        return x.attachments.length >= 3 && x.summary !== 'test' ? x : undefined;
      },
      { timeoutMs: 10_000, what: 'three attachments and a summary' },
    );
    expect(t.summary).toContain('service tests 1/2 passed (failed: rest-login auth)');
    for (const a of t.attachments) {
      const res = await h.api(`/api/tickets/${opened.id}/attachments/${a.name}`);
      expect(res.status).toBe(200);
      expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(a.sha256);
    }
    const rows = await sql.query<{ sha256: string; size: string }>('SELECT sha256, size FROM evidence_content');
    expect(rows.map((r) => r.sha256).sort()).toEqual(t.attachments.map((a) => a.sha256).sort());
    expect(readdirSync(join(h.dataDir, 'attachments'))).toEqual(['tmp']);
    // the hub's SQLite file has no evidence tables: the module is wholly on PostgreSQL
    const local = h.hub.ctx.db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'evidence%'").all();
    expect(local).toEqual([]);
    expect((await h.evidence.store.transfersOf(opened.id)).every((r) => r.state === 'stored')).toBe(true);
  });

  it('a transfer cut short survives a hub restart in PostgreSQL and is resumed, not started over', async () => {
    const data = randomBytes(8 * ATTACHMENT_CHUNK_BYTES + 99);
    data[0] = 0; // binary: stored as is
    const { h, a } = await setup(
      { attachments: { collectTimeoutMs: 1000 } },
      { stopAfterChunks: 3, files: { 'collect-logs': [{ name: 'device-logs.bin', kind: 'device-logs', data }] } },
    );
    const ticket = await h.openAuto(SERIAL, 'down');
    const cut = await waitFor(
      async () => {
        const row = (await h.evidence.store.transfersOf(ticket.id)).find((r) => r.name === 'device-logs.bin');
        const coll = await h.evidence.store.collection(ticket.id);
        return row?.receivedCount === 3 && coll?.state === 'waiting' ? row : undefined;
      },
      { timeoutMs: 15_000, what: 'three chunks in, the collection waiting for the agent' },
    );
    await h.restart();
    const stored = await waitFor(
      async () => (await h.tickets.get(ticket.id))?.attachments.find((x) => x.name === 'device-logs.bin'),
      { timeoutMs: 20_000, what: 'the archive stored after the restart' },
    );
    expect(stored.sha256).toBe(sha(data));
    const res = await h.api(`/api/tickets/${ticket.id}/attachments/device-logs.bin`);
    expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(data));
    const resume = a.commands.find((c) => c.resumeFrom?.[cut.transferId] !== undefined);
    expect(resume?.resumeFrom?.[cut.transferId]).toBe(3);
    expect((await h.evidence.store.sourceOf(ticket.id, 'device-logs.bin'))?.sha256).toBe(sha(data));
  });

  it("imports an earlier hub's attachment files at start; they are served from PostgreSQL once the file is gone", async () => {
    const { h } = await setup({}, {});
    const opened = await h.openAuto(SERIAL);
    const old = Buffer.from('an archive an earlier single-node hub stored as a file\n');
    const file = join(h.dataDir, 'attachments', sha(old));
    writeFileSync(file, old);
    h.tickets.addAttachment(opened.id, {
      name: 'old-logs.txt',
      size: old.length,
      sha256: sha(old),
      kind: 'device-logs',
      capturedAt: null,
      storedPath: join('attachments', sha(old)),
    });
    await h.restart();
    await waitFor(() => h.evidence.content.has(sha(old)), { what: 'the file imported at start' });
    rmSync(file); // as on another node, which never had it
    const res = await h.api(`/api/tickets/${opened.id}/attachments/old-logs.txt`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe(old.toString());
    expect(h.logText()).toContain('attachment files imported into the database');
  });
});
