/**
 * Attack family: a decompression bomb as evidence (issue 13): an agent answers `collect-logs` with a 250 KB gzip
 * of 250 MB. The hub refuses it at `attachments.maxDecompressedBytes` without inflating it in full, notes why on
 * the ticket, and stores nothing. Real hub (embedded broker, SQLite, evidence module) and an MQTT.js agent.
 */

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { type EvidenceAgent, startEvidenceAgent } from '../helpers/evidence-fake-agent.ts';
import { EVIDENCE_AGENT, type EvidenceHub, startEvidenceHub } from '../helpers/evidence-hub.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SERIAL = '8L2X50-0001';
const MB = 1024 * 1024;
let hub: EvidenceHub | undefined;
let agent: EvidenceAgent | undefined;
afterEach(async () => {
  await agent?.close();
  await hub?.close();
  agent = undefined;
  hub = undefined;
});

async function gzipOfZeros(bytes: number): Promise<Buffer> {
  const zero = Buffer.alloc(MB);
  const parts: Buffer[] = [];
  const gzip = createGzip({ level: 9 });
  gzip.on('data', (c: Buffer) => parts.push(c));
  await pipeline(
    Readable.from(
      (function* () {
        for (let i = 0; i < bytes / MB; i++) yield zero;
      })(),
    ),
    gzip,
  );
  return Buffer.concat(parts);
}

describe('bounded decompression of evidence at the hub', () => {
  it('a gzip bomb (250 KB -> 250 MB) is refused with a note on the ticket; memory stays bounded', async () => {
    const bomb = await gzipOfZeros(250 * MB);
    const limit = 16 * MB;
    hub = await startEvidenceHub({ attachments: { maxDecompressedBytes: limit } });
    agent = await startEvidenceAgent({
      url: hub.urls.mqttUrl,
      agentId: EVIDENCE_AGENT.id,
      site: EVIDENCE_AGENT.site,
      password: EVIDENCE_AGENT.password,
      serial: SERIAL,
      files: { 'collect-logs': [{ name: 'device-logs.tar.gz', kind: 'device-logs', data: bomb }] },
    });
    const h = hub;
    await waitFor(() => h.hub.ctx.services.commands?.agentFor(SERIAL), { what: 'hub knows the agent' });
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const before = process.memoryUsage().rss;
    const opened = await h.openAuto(SERIAL);
    const ticket = await waitFor(
      async () => {
        const t = (await h.tickets.get(opened.id))!;
        return t.history.some((e) => e.note.includes('ARCHIVE_REFUSED')) ? t : undefined;
      },
      { timeoutMs: 30_000, what: 'the refusal note' },
    );
    loop.disable();
    const growthMb = (process.memoryUsage().rss - before) / MB;
    console.log(
      `gzip bomb ${(bomb.length / 1024).toFixed(0)} KB -> 250 MB: refused; RSS +${growthMb.toFixed(1)} MB, ` +
        `longest event-loop stall ${(loop.max / 1e6).toFixed(0)} ms`,
    );
    const note = ticket.history.map((e) => e.note).find((n) => n.includes('ARCHIVE_REFUSED'))!;
    expect(note).toBe(
      `ARCHIVE_REFUSED: device-logs.tar.gz from ${SERIAL} expands beyond the limit of ${limit} bytes (attachments.maxDecompressedBytes); refused, not stored`,
    );
    expect(ticket.attachments.map((a) => a.name)).not.toContain('device-logs.tar.gz');
    expect(growthMb).toBeLessThan(200);
  });
});
