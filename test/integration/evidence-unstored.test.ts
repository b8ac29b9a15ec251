/**
 * Issue 19 with issue 16's content in the database: an attachment that arrived whole but could not be stored (here
 * the hub's SQLite refuses every insert into evidence_content, as when the disk is full) is kept - its transfer
 * stays receiving with its temp file, the agent is NOT told to drop its copy, the hub says it is degraded - and it is
 * stored, attached and acknowledged once the database takes writes again and the agent returns: from the temp file,
 * or - when the temp file is gone, as on another hub node - from the agent's copy, sent again.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../protocols/messages.ts';
import { topics } from '../../protocols/topics.ts';
import { type EvidenceAgent, startEvidenceAgent } from '../helpers/evidence-fake-agent.ts';
import { EVIDENCE_AGENT, type EvidenceHub, startEvidenceHub } from '../helpers/evidence-hub.ts';
import { makePresence } from '../helpers/health-record.ts';
import { sumMetric } from '../helpers/hub-fixture.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SERIAL = '8L2X50-0007';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let hub: EvidenceHub | undefined;
let agent: EvidenceAgent | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
  await hub?.close();
  hub = undefined;
});

describe('an attachment received whole while its bytes cannot be stored', () => {
  it.each([
    { case: 'temp file kept', isTempKept: true },
    { case: 'temp file gone', isTempKept: false },
  ])(
    'is kept, not acknowledged, degraded health; stored and acknowledged when writes work again ($case)',
    async ({ isTempKept }) => {
      const h = await startEvidenceHub();
      hub = h;
      const data = Buffer.alloc(40_000, 1);
      data[0] = 0; // binary: stored as is
      agent = await startEvidenceAgent({
        url: h.urls.mqttUrl,
        agentId: EVIDENCE_AGENT.id,
        site: EVIDENCE_AGENT.site,
        password: EVIDENCE_AGENT.password,
        serial: SERIAL,
        files: { 'collect-logs': [{ name: 'device-logs.bin', kind: 'device-logs', data }] },
      });
      const a = agent;
      await waitFor(() => h.hub.ctx.services.commands?.agentFor(SERIAL), { what: 'agent known' });
      h.hub.ctx.db.exec(`CREATE TRIGGER evidence_content_full BEFORE INSERT ON evidence_content
      BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);

      const ticket = await h.openAuto(SERIAL, 'down');
      const whole = await waitFor(
        async () => {
          const rows = await h.evidence.store.transfersOf(ticket.id);
          const done = rows.length === 2 && rows.every((r) => r.receivedCount === r.total);
          const coll = await h.evidence.store.collection(ticket.id);
          return done && coll?.state === 'done' ? rows : undefined;
        },
        { timeoutMs: 15_000, what: 'both transfers received whole and the collection answered' },
      );
      await h.evidence.drain();
      expect(whole.map((r) => r.state)).toEqual(['receiving', 'receiving']);
      expect((await h.tickets.get(ticket.id))?.attachments).toEqual([]);
      expect([...a.transfers.values()].map((t) => t.acked)).toEqual([false, false]);
      const degraded = await fetch(`${h.urls.httpUrl}/healthz`);
      expect(degraded.status).toBe(503);
      expect(((await degraded.json()) as { reasons: string[] }).reasons.join('\n')).toMatch(
        /evidence: 2 attachment\(s\) received but not stored yet/,
      );
      const metrics = await h.hub.ctx.metrics.metrics();
      expect(sumMetric(metrics, 'hezo_store_write_failures_total')).toBeGreaterThanOrEqual(2);

      // space returns; the agent comes back: the hub stores from its temp files (nothing is asked again)
      if (!isTempKept) for (const row of whole) rmSync(h.evidence.assembler.tempPath(row.transferId));
      h.hub.ctx.db.exec('DROP TRIGGER evidence_content_full');
      const chunksBefore = a.published();
      await a.client.publishAsync(
        topics.presence(EVIDENCE_AGENT.site, EVIDENCE_AGENT.id),
        encodeMessage('presence', makePresence('offline', { agentId: EVIDENCE_AGENT.id, site: EVIDENCE_AGENT.site })),
        { qos: 1 },
      );
      await waitFor(() => h.hub.ctx.services.commands?.isOnline(EVIDENCE_AGENT.id) === false, { what: 'offline' });
      await a.announce();
      const stored = await waitFor(
        async () => {
          const t = (await h.tickets.get(ticket.id))!;
          return t.attachments.length === 2 ? t : undefined;
        },
        { timeoutMs: 15_000, what: 'both attachments stored after the retry' },
      );
      const logs = stored.attachments.find((x) => x.name === 'device-logs.bin')!;
      expect(logs.sha256).toBe(sha(data));
      const res = await h.api(`/api/tickets/${ticket.id}/attachments/device-logs.bin`);
      expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(data));
      await waitFor(() => [...a.transfers.values()].every((t) => t.acked), { what: 'acknowledged after storing' });
      if (isTempKept) {
        expect(a.published()).toBe(chunksBefore); // the bytes were not sent again
        expect(h.logText()).toContain('storing a received attachment again');
      } else {
        expect(a.published()).toBeGreaterThan(chunksBefore); // sent again from the agent's copy
        expect(h.logText()).toContain('received attachment lost here: resent');
      }
      await waitFor(async () => (await fetch(`${h.urls.httpUrl}/healthz`)).status === 200, { what: 'healthy again' });
    },
  );
});
