/**
 * Issue 7, hub side: a real hub (embedded broker, SQLite, HTTP) and a real MQTT.js client acting as the agent.
 * An automatic ticket asks for logs and service tests; chunks are reassembled (any order, repeats), verified,
 * capped, redacted, stored content-addressed in the hub's database, listed, downloadable and summarised; an offline
 * agent gets a note and a retry when it returns.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { TicketView } from '../../hub/types.ts';
import { encodeMessage } from '../../protocols/messages.ts';
import { packTar, readTarEntries } from '../../protocols/tar-archive.ts';
import { topics } from '../../protocols/topics.ts';
import { type EvidenceAgent, type EvidenceAgentOptions, startEvidenceAgent } from '../helpers/evidence-fake-agent.ts';
import { EVIDENCE_AGENT, type EvidenceHub, startEvidenceHub } from '../helpers/evidence-hub.ts';
import { PLANTED, plantedFiles } from '../helpers/evidence-planted.ts';
import { makePresence } from '../helpers/health-record.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SERIAL = '8L2X50-0001';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let hub: EvidenceHub | undefined;
let agent: EvidenceAgent | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
  await hub?.close();
  hub = undefined;
});

async function setup(config: Record<string, unknown> = {}, agentOptions: Partial<EvidenceAgentOptions> = {}) {
  hub = await startEvidenceHub(config);
  agent = await startEvidenceAgent({
    url: hub.urls.mqttUrl,
    agentId: EVIDENCE_AGENT.id,
    site: EVIDENCE_AGENT.site,
    password: EVIDENCE_AGENT.password,
    serial: SERIAL,
    ...agentOptions,
  });
  const h = hub;
  await waitFor(() => h.hub.ctx.services.commands?.agentFor(SERIAL), { what: 'hub knows the agent of the device' });
  return h;
}

async function ticketOf(h: EvidenceHub, id: string) {
  return (await h.tickets.get(id))!;
}

/** The detector's evidence lines are the summary a ticket opens with; the evidence module replaces it. */
const OPENING_SUMMARY = 'test';

async function settledTicket(h: EvidenceHub, id: string, attachments: number, timeoutMs = 10_000) {
  return waitFor(
    async () => {
      const t = await ticketOf(h, id);
      return t.attachments.length >= attachments && t.summary !== OPENING_SUMMARY ? t : undefined;
    },
    { timeoutMs, what: `ticket ${id} with ${attachments} attachments and a summary` },
  );
}

const notes = (t: { history: { note: string }[] }) => t.history.map((e) => e.note).join('\n');

describe('evidence on automatic tickets', () => {
  it('asks for logs and service tests, stores, lists, serves and summarises them', async () => {
    const h = await setup();
    const opened = await h.openAuto(SERIAL);
    const t = await settledTicket(h, opened.id, 3);
    expect(agent!.commands.filter((c) => !c.resumeFrom).map((c) => [c.kind, c.ticketId, c.serial])).toEqual(
      expect.arrayContaining([
        ['collect-logs', opened.id, SERIAL],
        ['diagnose', opened.id, SERIAL],
      ]),
    );
    expect(t.attachments.map((a) => [a.name, a.kind]).sort()).toEqual([
      ['agent-trace.json', 'agent-trace'],
      ['device-logs.txt', 'device-logs'],
      ['service-tests.json', 'service-tests'],
    ]);
    for (const a of t.attachments) {
      expect(sha((await h.evidence.content.get(a.sha256))!)).toBe(a.sha256);
      const res = await h.api(`/api/tickets/${opened.id}/attachments/${a.name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${a.name}"`);
      expect(res.headers.get('content-type')).toBe(
        a.kind === 'device-logs' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
      );
      expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(a.sha256);
    }
    const logs = t.attachments.find((a) => a.kind === 'device-logs')!;
    expect(logs.capturedAt).toBeTruthy();
    expect(t.summary).toContain('service tests 1/2 passed (failed: rest-login auth)');
    expect(t.summary).toContain('last log lines mention camera');
    const missing = await h.api(`/api/tickets/${opened.id}/attachments/nope.txt`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toContain('nope.txt');
    expect((await h.api('/api/tickets/T-404/attachments/x.txt')).status).toBe(404);
    // every finished transfer is acknowledged, so the agent can drop its copy
    await waitFor(() => [...agent!.transfers.values()].every((x) => x.acked), { what: 'transfers acknowledged' });
    // GET /api/tickets lists the attachments
    const list = (await (await h.api('/api/tickets')).json()) as TicketView[];
    expect(list.find((x) => x.id === opened.id)?.attachments).toHaveLength(3);
  });

  it('reassembles chunks that arrive shuffled and repeated, and dedupes identical content', async () => {
    const data = randomBytes(6 * 256 * 1024 + 777);
    data[0] = 0; // binary: stored as is
    const h = await setup(
      {},
      { order: 'shuffled-with-repeats', files: { 'collect-logs': [{ name: 'blob.bin', kind: 'device-logs', data }] } },
    );
    const first = await h.openAuto(SERIAL, 'degraded');
    const t1 = await settledTicket(h, first.id, 2);
    const blob = t1.attachments.find((a) => a.name === 'blob.bin')!;
    expect(blob.sha256).toBe(sha(data));
    expect(blob.size).toBe(data.length);
    // the same content again (escalation to P1): a second name on the ticket, one file on disk
    await h.openAuto(SERIAL, 'down');
    const t2 = await settledTicket(h, first.id, 4);
    expect(t2.attachments.map((a) => a.name)).toContain('blob-2.bin');
    await h.evidence.drain();
    // blob.bin once, plus the service tests (identical both rounds): two contents, nothing on disk
    expect(t2.attachments.filter((a) => a.sha256 === sha(data))).toHaveLength(2);
    expect(new Set(t2.attachments.map((a) => a.sha256)).size).toBe(2);
    expect(await h.evidence.content.count()).toBe(2);
    expect(readdirSync(join(h.dataDir, 'attachments'))).toEqual(['tmp']);
    expect(readdirSync(join(h.dataDir, 'attachments', 'tmp'))).toEqual([]);
  });

  it('discards a file whose sha256 does not match (CHECKSUM_MISMATCH note)', async () => {
    const h = await setup(
      {},
      {
        files: {
          'collect-logs': [
            {
              name: 'device-logs.txt',
              kind: 'device-logs',
              data: Buffer.from('hello\n'),
              announcedSha256: 'a'.repeat(64),
            },
          ],
        },
      },
    );
    const opened = await h.openAuto(SERIAL);
    const t = await settledTicket(h, opened.id, 1);
    expect(t.attachments.map((a) => a.name)).toEqual(['service-tests.json']);
    expect(notes(t)).toMatch(
      /CHECKSUM_MISMATCH: device-logs.txt from 8L2X50-0001 .* expected sha256 a{64}, got [0-9a-f]{64}; the file was discarded/,
    );
  });

  it('enforces the size caps per attachment and per ticket with a clear note', async () => {
    const h = await setup(
      { attachments: { maxBytesPerAttachment: 4096, maxBytesPerTicket: 6000, collectTimeoutMs: 20_000 } },
      {
        files: {
          'collect-logs': [
            { name: 'huge.txt', kind: 'device-logs', data: Buffer.alloc(10_000, 'x') },
            {
              name: 'agent-trace.json',
              kind: 'agent-trace',
              data: Buffer.from(`{"records":[],"pad":"${'y'.repeat(3000)}"}`),
            },
          ],
          diagnose: [
            {
              name: 'service-tests.json',
              kind: 'service-tests',
              data: Buffer.from(`{"tests":[],"pad":"${'z'.repeat(3500)}"}`),
            },
          ],
        },
      },
    );
    const opened = await h.openAuto(SERIAL);
    await waitFor(
      async () => {
        const t = await ticketOf(h, opened.id);
        return /huge.txt/.test(notes(t)) && /per ticket/.test(notes(t)) && t.summary !== OPENING_SUMMARY;
      },
      {
        timeoutMs: 10_000,
        what: 'size notes',
      },
    );
    const t = await ticketOf(h, opened.id);
    expect(notes(t)).toContain('ATTACHMENT_TOO_LARGE: huge.txt is 10000 bytes, limit 4096');
    expect(t.attachments).toHaveLength(1); // only one of the two ~3 KB files fits in 6000 bytes
    expect(notes(t)).toMatch(
      /ATTACHMENT_TOO_LARGE: (agent-trace|service-tests)\.json is \d+ bytes, limit 6000 per ticket/,
    );
    expect(await h.evidence.content.count()).toBe(1);
  });

  it('redacts planted secrets before storage, and logs none of them', async () => {
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
    const trace = Buffer.from(JSON.stringify({ records: [], note: `password=${PLANTED.devicePassword}` }));
    const h = await setup(
      {},
      {
        files: {
          'collect-logs': [
            { name: 'device-logs.tar.gz', kind: 'device-logs', data: tgz },
            { name: 'agent-trace.json', kind: 'agent-trace', data: trace },
          ],
        },
      },
    );
    const opened = await h.openAuto(SERIAL);
    const t = await settledTicket(h, opened.id, 3);
    const secrets = Object.values(PLANTED);
    for (const a of t.attachments) {
      const bytes = (await h.evidence.content.get(a.sha256))!;
      const text = a.name.endsWith('.gz') ? gunzipSync(bytes).toString('latin1') : bytes.toString('latin1');
      expect(secrets.filter((s) => text.includes(s))).toEqual([]);
    }
    const logs = t.attachments.find((a) => a.name === 'device-logs.tar.gz')!;
    const entries = await readTarEntries(gunzipSync((await h.evidence.content.get(logs.sha256))!));
    expect(entries.map((e) => e.path)).toEqual([...files.keys()]);
    expect((await h.evidence.store.sourceOf(opened.id, 'device-logs.tar.gz'))?.sha256).toBe(sha(tgz));
    expect(secrets.filter((s) => h.logText().includes(s))).toEqual([]);
    const stored = JSON.stringify(await ticketOf(h, opened.id));
    expect(secrets.filter((s) => stored.includes(s))).toEqual([]);
    expect(h.logText()).toContain('attachment stored');
  });

  it('agent offline: the ticket gets a note, and the evidence once the agent is back', async () => {
    const h = await setup();
    await agent!.client.publishAsync(
      topics.presence(EVIDENCE_AGENT.site, EVIDENCE_AGENT.id),
      encodeMessage('presence', makePresence('offline', { agentId: EVIDENCE_AGENT.id, site: EVIDENCE_AGENT.site })),
      { qos: 1 },
    );
    await waitFor(() => h.hub.ctx.services.commands?.isOnline(EVIDENCE_AGENT.id) === false, { what: 'agent offline' });
    const opened = await h.openAuto(SERIAL);
    await waitFor(async () => /EVIDENCE_NOT_COLLECTED/.test(notes(await ticketOf(h, opened.id))), {
      what: 'offline note',
    });
    expect(notes(await ticketOf(h, opened.id))).toContain(
      `device logs and agent trace and service tests for ${SERIAL}: agent ${EVIDENCE_AGENT.id} is offline; will retry when the agent is back`,
    );
    expect(agent!.commands.filter((c) => c.ticketId === opened.id)).toHaveLength(0);
    await agent!.announce(); // back online
    const t = await settledTicket(h, opened.id, 3);
    expect(t.attachments).toHaveLength(3);
    expect(agent!.commands.filter((c) => c.ticketId === opened.id)).toHaveLength(2);
  });

  it('collection timeout: a note names what is missing and why', async () => {
    const h = await setup({ attachments: { collectTimeoutMs: 1000 } }, { isSilent: true });
    const opened = await h.openAuto(SERIAL);
    await waitFor(async () => /EVIDENCE_NOT_COLLECTED/.test(notes(await ticketOf(h, opened.id))), {
      timeoutMs: 15_000,
      what: 'timeout note',
    });
    expect(notes(await ticketOf(h, opened.id))).toMatch(
      /EVIDENCE_NOT_COLLECTED: .*: .*no reply within 1000 ms.*will retry when the agent is back/,
    );
    expect((await ticketOf(h, opened.id)).attachments).toHaveLength(0);
    expect(existsSync(join(h.dataDir, 'attachments'))).toBe(true);
  });

  it("serves an earlier hub's attachment files from the data folder; 404 when the bytes are nowhere", async () => {
    const h = await startEvidenceHub();
    hub = h;
    const opened = await h.openAuto(SERIAL);
    const bytes = Buffer.from('written by an earlier hub\n');
    mkdirSync(join(h.dataDir, 'attachments'), { recursive: true });
    writeFileSync(join(h.dataDir, 'attachments', sha(bytes)), bytes);
    const meta = { size: bytes.length, kind: 'device-logs', capturedAt: null };
    h.tickets.addAttachment(opened.id, {
      ...meta,
      name: 'old.txt',
      sha256: sha(bytes),
      storedPath: join('attachments', sha(bytes)),
    });
    h.tickets.addAttachment(opened.id, {
      ...meta,
      name: 'gone.txt',
      sha256: 'e'.repeat(64),
      storedPath: join('attachments', 'e'.repeat(64)),
    });
    const res = await h.api(`/api/tickets/${opened.id}/attachments/old.txt`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${sha(bytes)}"`);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe(bytes.toString());
    const gone = await h.api(`/api/tickets/${opened.id}/attachments/gone.txt`);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: string }).error).toContain('stored bytes are missing');
    expect(await h.evidence.content.count()).toBe(0);
  });
});
