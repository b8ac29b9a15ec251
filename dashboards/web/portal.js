// Customer portal: the customer's rooms and their state, open tickets with every SLA clock and their history
// (live over /ws), past tickets, a delivery date to agree, the return instructions with the 7-day deadline.
// It shows what the hub sends: the hub scopes the stream and every API answer to the signed-in customer, so the
// page has no filter of its own to get wrong (a test checks the hub's answers from the page's context).
(() => {
  const api = window.HezoApi;
  const { h, field, STATE_WORD, TICKET_STATE } = window.HezoDom;
  const P = window.HezoParts;
  const T = window.HezoText;
  const S = window.HezoService;
  const $ = (id) => document.getElementById(id);

  const portal = { user: null, customer: null, calendar: null, live: null, history: new Map(), past: [] };
  window.HezoPortal = portal;

  const now = () => (portal.live ? portal.live.now() : Date.now());
  const tz = () => portal.calendar?.timeZone;
  portal.devices = () => [...(portal.live?.model.devices.values() || [])];
  portal.roomOf = (serial) => portal.live?.model.devices.get(serial)?.name || serial;

  /** The room's open ticket, to say the reason in words. */
  function ticketOf(serial) {
    for (const t of portal.live?.model.tickets.values() || []) if (t.serial === serial) return t;
    return undefined;
  }

  function renderRooms() {
    const devices = portal.devices().sort((a, b) => (a.name || a.serial).localeCompare(b.name || b.serial));
    $('rooms').replaceChildren(
      ...devices.map((d) =>
        h(
          'li',
          { class: d.state, 'data-testid': 'room', 'data-serial': d.serial, 'data-state': d.state },
          h('div', { class: `st state-${d.state}`, text: STATE_WORD[d.state] || d.state }),
          h('div', { class: 'room', text: d.name || d.serial }),
          // A room without a name shows its serial as the name: then say the model, not the serial twice.
          h('div', { class: 'serial', text: `${d.name ? d.serial : d.model || d.serial} · ${d.site}` }),
          d.state === 'up'
            ? null
            : h('div', {
                class: 'hint',
                'data-testid': 'room-reason',
                text: T.deviceReason(d, ticketOf(d.serial)),
              }),
          h('div', {
            class: 'hint',
            text: d.coverage === 'active' ? `✓ contract ${d.contract}` : '✖ no active contract',
          }),
        ),
      ),
    );
  }

  function returnInstructions(t) {
    if (t.state !== 'replacement_delivered') return null;
    return h(
      'p',
      { class: 'notice', 'data-testid': 'return-instructions' },
      h('strong', { text: `Return the faulty unit by ${T.dateTime(t.sla.returnDue, tz())} (${S.returnDays} days). ` }),
      S.returnText,
    );
  }

  function deliveryForm(t) {
    if (!(t.sla.running || []).includes('delivery')) return null;
    const date = h('input', {
      type: 'datetime-local',
      id: `delivery-${t.id}`,
      'data-testid': 'portal-delivery-date',
      required: true,
    });
    const out = h('span', { role: 'status' });
    return h(
      'form',
      {
        class: 'no-print',
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            await api.post(`/api/tickets/${encodeURIComponent(t.id)}/delivery-agreement`, {
              dueAt: new Date(date.value).toISOString(),
              note: 'later date agreed in the portal',
            });
            out.textContent = '✓ New delivery date recorded.';
          } catch (err) {
            out.textContent = `✖ ${err.message}`;
          }
        },
      },
      field('Prefer a later delivery? Pick the date', date, `Delivery due by ${T.dateTime(t.sla.deliveryDue, tz())}`),
      h('button', { type: 'submit', class: 'secondary', text: 'Agree this date' }),
      ' ',
      out,
    );
  }

  function ticketCard(t, isOpen) {
    const details = h('details', { 'data-testid': 'portal-history' }, h('summary', { text: 'History' }));
    const history = portal.history.get(t.id);
    if (history) details.append(P.historyTable(customerHistory(history), tz()));
    details.addEventListener('toggle', () => {
      if (details.open) void loadHistory(t.id);
    });
    if (portal.openDetails?.has(t.id)) details.open = true;
    return h(
      'article',
      {
        class: 'ticket-card',
        'data-testid': isOpen ? 'portal-ticket' : 'past-ticket',
        'data-ticket-id': t.id,
        'data-state': t.state,
        'data-priority': t.priority,
      },
      h(
        'h3',
        {},
        h('span', { class: `prio ${t.priority}`, text: t.priority }),
        ` ${portal.roomOf(t.serial)} · ${t.id}`,
      ),
      h('p', { 'data-testid': 'portal-ticket-title', text: T.shortTitle(t) }),
      h(
        'p',
        { 'data-testid': 'portal-ticket-state' },
        h('strong', { text: `${TICKET_STATE[t.state] || t.state}` }),
        ` · opened ${T.dateTime(t.openedAt, tz())} · ${t.channel}`,
      ),
      isOpen ? P.clockList(t, portal.calendar, now()) : null,
      isOpen ? returnInstructions(t) : null,
      isOpen ? deliveryForm(t) : null,
      details,
    );
  }

  /**
   * What the customer sees of the history: state changes, contacts and delivery agreements (what was said to them
   * or agreed with them) and the notes people wrote for them. The hub never sends internal notes to a customer;
   * the monitor's own notes (evidence summaries by `hezo-evidence`, identity notes by `hub`) and attachments stay
   * on the desk.
   */
  const MONITOR_ACTORS = new Set(['hezo-evidence', 'hub']);
  function customerHistory(history) {
    const out = [];
    for (const e of history) {
      if (e.kind === 'opened' || e.from === null) out.push({ ...e, note: 'ticket opened' });
      else if (e.kind === 'transition') out.push({ ...e, note: '' });
      else if (e.kind === 'contact' || e.kind === 'delivery-agreement') out.push(e);
      else if (e.kind === 'note' && !MONITOR_ACTORS.has(e.actor)) out.push(e);
    }
    return out;
  }

  async function loadHistory(id) {
    try {
      const t = await api.get(`/api/tickets/${encodeURIComponent(id)}`);
      portal.history.set(id, t.history);
      portal.openDetails = new Set([...(portal.openDetails || []), id]);
      renderTickets();
    } catch {
      // shown as before
    }
  }

  function renderTickets() {
    const focused = document.activeElement?.id;
    // What the customer is typing survives a live update of the cards.
    const typed = new Map([...$('open-tickets').querySelectorAll('input[id]')].map((el) => [el.id, el.value]));
    const open = [...(portal.live?.model.tickets.values() || [])].sort((a, b) => b.openedAt.localeCompare(a.openedAt));
    $('no-open').hidden = open.length > 0;
    $('open-tickets').replaceChildren(...open.map((t) => ticketCard(t, true)));
    for (const [id, value] of typed) {
      const el = document.getElementById(id);
      if (el && value) el.value = value;
    }
    $('past-tickets').replaceChildren(...portal.past.slice(0, 20).map((t) => ticketCard(t, false)));
    if (focused) document.getElementById(focused)?.focus();
  }

  async function loadPast() {
    try {
      portal.past = await api.get('/api/tickets?state=closed');
      renderTickets();
    } catch {
      // keep the last list
    }
  }

  async function start() {
    const user = await api.requireUser(['customer']);
    if (!user) return;
    portal.user = user;
    portal.customer = user.customer;
    $('who').textContent = user.name;
    $('sign-out').addEventListener('click', () => void api.signOut());
    try {
      const cals = await api.get('/api/calendars');
      const c = cals.customers.find((x) => x.customer === portal.customer);
      portal.calendar = c || cals.default;
      if (c) $('customer-name').textContent = c.name;
    } catch {
      portal.calendar = null;
    }
    portal.live = window.HezoLive.connectLive({
      url: api.wsUrl,
      onStatus: (isLive) => {
        const el = $('stream-status');
        el.textContent = isLive ? 'LIVE' : 'RECONNECTING';
        el.className = `stream ${isLive ? 'live' : 'lost'}`;
        document.body.dataset.stream = isLive ? 'live' : 'lost';
      },
      onChange: (_model, msg) => {
        renderRooms();
        renderTickets();
        window.HezoPortalForms.refreshDevices();
        if (msg.type === 'ticket') {
          if (portal.openDetails?.has(msg.data.id)) void loadHistory(msg.data.id);
          if (msg.data.state === 'closed' || msg.data.state === 'rejected') void loadPast();
        }
      },
    });
    window.HezoPortalForms.init(portal);
    void loadPast();
    setInterval(() => {
      for (const box of document.querySelectorAll('[data-testid="portal-ticket"]')) {
        const t = portal.live.model.tickets.get(box.dataset.ticketId);
        const clocks = box.querySelector('[data-testid="sla-clocks"]');
        if (t && clocks) clocks.replaceWith(P.clockList(t, portal.calendar, now()));
      }
    }, 1000);
  }

  void start();
})();
