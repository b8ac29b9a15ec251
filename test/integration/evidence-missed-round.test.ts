/**
 * Issue 16: a ticket stored by a node that died before it asked for evidence (no collection row at all) gets its
 * round when a node holding the site starts (or gains the partition). The state is made as a kill -9 between the
 * ticket's commit and the round's first write would leave it: the ticket's collection and commands removed.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type EvidenceAgent, startEvidenceAgent } from '../helpers/evidence-fake-agent.ts';
import { EVIDENCE_AGENT, type EvidenceHub, startEvidenceHub } from '../helpers/evidence-hub.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SERIAL = '8L2X70-0007';

let hub: EvidenceHub | undefined;
let agent: EvidenceAgent | undefined;
afterEach(async () => {
  await agent?.close();
  await hub?.close();
  agent = undefined;
  hub = undefined;
});

/** The fake agent of SERIAL (its archive: a few bytes), answering commands or, `isSilent`, not at all. */
function connectAgentTo(h: EvidenceHub, isSilent: boolean): Promise<EvidenceAgent> {
  return startEvidenceAgent({
    url: h.urls.mqttUrl,
    agentId: EVIDENCE_AGENT.id,
    site: EVIDENCE_AGENT.site,
    password: EVIDENCE_AGENT.password,
    serial: SERIAL,
    files: { 'collect-logs': [{ name: 'device-logs.bin', kind: 'device-logs', data: Buffer.from([0, 1, 2]) }] },
    isSilent,
  });
}

describe('evidence rounds owed after a node died before asking', () => {
  it('an open ticket without any collection gets its round at start; one with a collection does not', async () => {
    const h = await startEvidenceHub();
    hub = h;
    const connectAgent = () => connectAgentTo(h, false);
    agent = await connectAgent();
    await waitFor(() => h.hub.ctx.services.commands?.agentFor(SERIAL), { what: 'agent known' });
    const asked = (ticketId: string) =>
      agent!.commands.filter((c) => c.kind === 'collect-logs' && c.ticketId === ticketId && c.resumeFrom === undefined);
    const lost = await h.openAuto(SERIAL, 'down');
    const kept = await h.openAuto('8L2X70-0008', 'degraded');
    await waitFor(() => asked(lost.id).length === 1, { what: 'the first round of the ticket' });
    await waitFor(async () => (await h.evidence.store.collection(kept.id)) !== undefined, { what: 'a collection row' });
    await h.evidence.drain();
    // what a kill -9 between the ticket's commit and the round's first write leaves: the ticket, nothing else
    await h.hub.ctx.sql.run('DELETE FROM evidence_commands WHERE ticket_id = $1', [lost.id]);
    await h.hub.ctx.sql.run('DELETE FROM evidence_collections WHERE ticket_id = $1', [lost.id]);
    expect(await h.evidence.store.openTicketsWithoutCollection()).toEqual([
      { id: lost.id, serial: SERIAL, channel: 'auto', site: EVIDENCE_AGENT.site, openedAt: lost.openedAt },
    ]);
    await agent.close();
    await h.restart();
    agent = await connectAgent();
    await waitFor(() => asked(lost.id).length >= 1, { what: 'the owed round asked of the agent', timeoutMs: 20_000 });
    await waitFor(async () => (await h.evidence.store.collection(lost.id)) !== undefined, {
      what: 'the owed round stored',
    });
    expect(await h.evidence.store.openTicketsWithoutCollection()).toEqual([]);
    expect(h.logText()).toContain('evidence rounds started for open tickets that had none');
    expect(asked(kept.id)).toEqual([]);
  }, 60_000);

  it('a collection another node left collecting longer than a collection can take is taken over and asked again', async () => {
    const h = await startEvidenceHub();
    hub = h;
    const connectAgent = (isSilent: boolean) => connectAgentTo(h, isSilent);
    // the first round is asked and never answered: the node that asked dies while collecting
    agent = await connectAgent(true);
    await waitFor(() => h.hub.ctx.services.commands?.agentFor(SERIAL), { what: 'agent known' });
    const ticket = await h.openAuto(SERIAL, 'down');
    await waitFor(() => agent!.commands.some((c) => c.ticketId === ticket.id), { what: 'the first round' });
    await waitFor(async () => (await h.evidence.store.collection(ticket.id))?.state === 'collecting', {
      what: 'collecting',
    });
    // a collection of another node still within its time: left alone
    const recent = await h.openAuto('8L2X70-0009', 'down');
    await waitFor(async () => (await h.evidence.store.collection(recent.id)) !== undefined, { what: 'its row' });
    const firstIds = new Set(agent.commands.map((c) => c.id));
    await agent.close();
    await h.stop();
    // what a node that died for good leaves: its collection `collecting`, its command `sent`, long ago
    const db = new Database(join(h.dataDir, 'hezo.sqlite'));
    db.prepare(
      "UPDATE evidence_collections SET state = 'collecting', node = 'hub-gone', updated_at = ? WHERE ticket_id = ?",
    ).run(new Date(Date.now() - 10 * 60_000).toISOString(), ticket.id);
    db.prepare("UPDATE evidence_commands SET status = 'sent', node = 'hub-gone' WHERE ticket_id = ?").run(ticket.id);
    db.prepare(
      "UPDATE evidence_collections SET state = 'collecting', node = 'hub-alive', updated_at = ? WHERE ticket_id = ?",
    ).run(new Date().toISOString(), recent.id);
    db.close();
    await h.restart();
    agent = await connectAgent(false);
    // a new command (the broker may also hand the reconnected agent the first one again: that one does not count)
    const asked = () =>
      agent!.commands.some((c) => c.kind === 'collect-logs' && c.ticketId === ticket.id && !firstIds.has(c.id));
    await waitFor(asked, {
      what: 'the orphaned collection asked again',
      timeoutMs: 20_000,
    });
    expect(h.logText()).toContain('evidence collection taken over from a stopped hub node');
    await waitFor(
      async () => (await h.tickets.get(ticket.id))?.attachments.some((a) => a.name === 'device-logs.bin') === true,
      { what: "the taken-over collection's archive on the ticket" },
    );
    const statuses = await h.hub.ctx.sql.query<{ status: string; node: string }>(
      'SELECT status, node FROM evidence_commands WHERE ticket_id = $1 ORDER BY issued_at',
      [ticket.id],
    );
    expect(statuses.filter((c) => c.node === 'hub-gone').map((c) => c.status)).not.toContain('sent');
    const other = await h.hub.ctx.sql.query<{ state: string; node: string }>(
      'SELECT state, node FROM evidence_collections WHERE ticket_id = $1',
      [recent.id],
    );
    expect(other).toEqual([{ state: 'collecting', node: 'hub-alive' }]);
  }, 60_000);
});
