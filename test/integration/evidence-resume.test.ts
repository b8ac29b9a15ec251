/**
 * Issue 7: a 50 MB archive arrives intact across a hub (and embedded broker) restart in the middle of the
 * transfer. A real MQTT.js client acts as the agent; the hub keeps the half-received transfer on disk and in
 * its database, and when the agent reconnects it asks it to resume from the first missing chunk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type EvidenceAgent, startEvidenceAgent } from '../helpers/evidence-fake-agent.ts';
import { EVIDENCE_AGENT, type EvidenceHub, startEvidenceHub } from '../helpers/evidence-hub.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SERIAL = '8L2X70-0004';
const SIZE = 50 * 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let hub: EvidenceHub | undefined;
let agent: EvidenceAgent | undefined;
afterEach(async () => {
  await agent?.close();
  await hub?.close();
  agent = undefined;
  hub = undefined;
});

describe('resumable transfers', () => {
  it('a 50 MB archive is stored intact across a hub restart in the middle of its transfer', async () => {
    const data = randomBytes(SIZE);
    data[0] = 0; // binary (no text to redact): the stored bytes are the source bytes
    const h = await startEvidenceHub();
    hub = h;
    agent = await startEvidenceAgent({
      url: h.urls.mqttUrl,
      agentId: EVIDENCE_AGENT.id,
      site: EVIDENCE_AGENT.site,
      password: EVIDENCE_AGENT.password,
      serial: SERIAL,
      files: { 'collect-logs': [{ name: 'device-logs.bin', kind: 'device-logs', data }] },
    });
    await waitFor(() => h.hub.ctx.services.commands?.agentFor(SERIAL), { what: 'agent known' });
    const started = performance.now();
    const ticket = await h.openAuto(SERIAL, 'down');

    const half = await waitFor(
      async () => {
        const row = (await h.evidence.store.transfersInState('receiving')).find((t) => t.name === 'device-logs.bin');
        return row !== undefined && row.receivedCount >= row.total / 2 ? row : undefined;
      },
      { timeoutMs: 60_000, what: 'half of the transfer received' },
    );
    await h.restart();
    const afterRestart = (await h.evidence.store.transfer(half.transferId))!;
    expect(afterRestart.state).toBe('receiving');
    expect(afterRestart.receivedCount).toBeGreaterThanOrEqual(half.receivedCount);

    const stored = await waitFor(
      async () => (await h.tickets.get(ticket.id))?.attachments.find((a) => a.name === 'device-logs.bin'),
      { timeoutMs: 90_000, what: 'the archive stored after the restart' },
    );
    const elapsedMs = performance.now() - started;
    expect(stored.sha256).toBe(sha(data));
    expect(stored.size).toBe(SIZE);
    expect(sha((await h.evidence.content.get(stored.sha256))!)).toBe(sha(data));
    const res = await h.api(`/api/tickets/${ticket.id}/attachments/device-logs.bin`);
    expect(res.status).toBe(200);
    expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(data));

    // It resumed (from a chunk in the middle), it did not start over.
    const resume = agent.commands.find(
      (c) => c.resumeFrom?.[half.transferId] !== undefined && c.resumeFrom[half.transferId]! < half.total,
    );
    expect(resume).toBeDefined();
    const from = resume!.resumeFrom![half.transferId]!;
    expect(from).toBeGreaterThanOrEqual(half.receivedCount);
    expect(from).toBeLessThan(half.total);
    expect((await h.evidence.store.sourceOf(ticket.id, 'device-logs.bin'))?.sha256).toBe(sha(data));
    expect(h.logText()).toContain('resuming transfers');
    expect(h.logText()).toContain('attachment transfer progress');
    console.info(
      `50 MB transfer with a hub restart: ${Math.round(elapsedMs)} ms, ${agent.published()} chunks published for ${half.total}, resumed from ${from}`,
    );
  }, 180_000);
});
