/**
 * Issue 15, hub side: a phone/e-mail/portal ticket for a monitored device gets the same evidence round as an
 * automatic one (logs and service tests), and one raised while the device's automatic ticket is open joins it
 * instead of duplicating it. Real hub (aedes, SQLite, HTTP) and a real MQTT.js client as the agent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TicketView } from '../../hub/types.ts';
import { type EvidenceAgent, startEvidenceAgent } from '../helpers/evidence-fake-agent.ts';
import { EVIDENCE_AGENT, type EvidenceHub, startEvidenceHub } from '../helpers/evidence-hub.ts';
import { TEST_ADMIN_TOKEN } from '../helpers/hub-fixture.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SERIAL = '8L2X50-0001';
const UNWATCHED = '8L2X30-0009';
const CONFIG = {
  customers: [{ id: 'acme', name: 'ACME' }],
  contracts: [{ number: 'HZ-1', customer: 'acme', start: '2025-02-01', termYears: 3, serials: [SERIAL, UNWATCHED] }],
  devices: [
    { serial: SERIAL, model: 'StudioX50', site: EVIDENCE_AGENT.site, customer: 'acme', name: 'Board room' },
    { serial: UNWATCHED, model: 'StudioX30', site: EVIDENCE_AGENT.site, customer: 'acme', name: 'Huddle' },
  ],
};

let hub: EvidenceHub | undefined;
let agent: EvidenceAgent | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
  await hub?.close();
  hub = undefined;
});

async function setup() {
  hub = await startEvidenceHub(CONFIG);
  agent = await startEvidenceAgent({
    url: hub.urls.mqttUrl,
    agentId: EVIDENCE_AGENT.id,
    site: EVIDENCE_AGENT.site,
    password: EVIDENCE_AGENT.password,
    serial: SERIAL,
  });
  const h = hub;
  await waitFor(() => h.hub.ctx.services.commands?.agentFor(SERIAL), { what: 'hub knows the agent of the device' });
  return h;
}

async function raise(h: EvidenceHub, serial: string, channel = 'phone') {
  const res = await fetch(`${h.urls.httpUrl}/api/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      channel,
      serial,
      contract: 'HZ-1',
      priority: 'P2',
      reporter: 'Anna Nowak',
      description: 'The camera shows a black picture',
    }),
  });
  return {
    status: res.status,
    body: (await res.json()) as TicketView & { linkedTo?: string; history: { note: string }[] },
  };
}

describe('phone, e-mail and portal tickets', () => {
  it('a phone ticket for a monitored device collects logs and service tests like an automatic one', async () => {
    const h = await setup();
    const { status, body } = await raise(h, SERIAL);
    expect(status).toBe(201);
    expect(body.channel).toBe('phone');
    const t = await waitFor(
      async () => {
        const t = (await h.tickets.get(body.id))!;
        return t.attachments.length >= 3 ? t : undefined;
      },
      {
        what: 'evidence on the phone ticket',
      },
    );
    expect(t!.attachments.map((a) => a.kind).sort()).toEqual(['agent-trace', 'device-logs', 'service-tests']);
    expect(agent!.commands.filter((c) => c.ticketId === body.id).map((c) => c.kind)).toEqual(
      expect.arrayContaining(['collect-logs', 'diagnose']),
    );
  });

  it('a device no agent watches gets no evidence round (and no note about one)', async () => {
    const h = await setup();
    const { status, body } = await raise(h, UNWATCHED, 'email');
    expect(status).toBe(201);
    await h.evidence.drain();
    const t = (await h.tickets.get(body.id))!;
    expect(t.attachments).toEqual([]);
    expect(t.history.map((e) => e.note).join('\n')).not.toContain('EVIDENCE');
    expect(agent!.commands.filter((c) => c.ticketId === body.id)).toEqual([]);
  });

  it('joins the open automatic ticket of the device instead of opening a second one', async () => {
    const h = await setup();
    const auto = await h.openAuto(SERIAL);
    const { status, body } = await raise(h, SERIAL, 'portal');
    expect(status).toBe(200);
    expect(body.id).toBe(auto.id);
    expect(body.linkedTo).toBe(auto.id);
    expect(body.channel).toBe('auto');
    expect(body.history.at(-1)!.note).toContain(
      'also reported by portal (P2) by Anna Nowak: The camera shows a black picture',
    );
    const open = (await (await h.api('/api/tickets')).json()) as TicketView[];
    expect(open.filter((t) => t.serial === SERIAL)).toHaveLength(1);
  });
});
