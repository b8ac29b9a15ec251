// Service desk, one ticket (window.HezoDeskTicket): every SLA clock, only the lifecycle steps allowed now,
// contact/update logging, notes, delivery date, evidence with an inline viewer, the device's recent health, history.
(() => {
  const api = window.HezoApi;
  const { h, field, option, TICKET_STATE } = window.HezoDom;
  const P = window.HezoParts;
  const T = window.HezoText;
  const pane = () => document.getElementById('work-pane');

  // hub/tickets/lifecycle.ts ALLOWED_TRANSITIONS, used when the hub does not serve GET /api/lifecycle.
  const FALLBACK = {
    open: ['acknowledged'],
    acknowledged: ['verifying', 'closed'],
    verifying: ['accepted', 'rejected', 'closed'],
    accepted: ['replacement_shipped'],
    rejected: [],
    replacement_shipped: ['replacement_delivered'],
    replacement_delivered: ['faulty_returned'],
    faulty_returned: ['closed'],
    closed: [],
  };
  const ACTION = {
    acknowledged: 'Acknowledge (reporter contacted)',
    verifying: 'Start verification',
    accepted: 'Accept: fault confirmed',
    rejected: 'Reject: no fault',
    replacement_shipped: 'Replacement shipped',
    replacement_delivered: 'Replacement delivered',
    faulty_returned: 'Faulty unit returned',
    closed: 'Close',
  };

  const current = { id: null, ticket: null, health: null, loading: 0 };

  function show(id) {
    current.id = id;
    current.ticket = null;
    current.health = null;
    pane().replaceChildren(h('p', { text: `Loading ${id}…` }));
    void load(id, true);
  }

  async function load(id, withHealth) {
    const n = ++current.loading;
    try {
      const ticket = await api.get(`/api/tickets/${encodeURIComponent(id)}`);
      if (current.id !== id || n !== current.loading) return;
      current.ticket = ticket;
      render();
      if (withHealth) {
        try {
          current.health = await api.get(`/api/devices/${encodeURIComponent(ticket.serial)}`);
        } catch {
          current.health = { health: [] };
        }
        if (current.id === id) render();
      }
    } catch (err) {
      if (current.id === id)
        pane().replaceChildren(h('p', { class: 'error', role: 'alert', text: `${id}: ${err.message}` }));
    }
  }

  function onStream(msg) {
    if (!current.id || !msg) return;
    if (
      msg.type === 'snapshot' ||
      (msg.type === 'ticket' && msg.data.id === current.id) ||
      (msg.type === 'sla' && msg.data.ticketId === current.id)
    ) {
      void load(current.id, false);
    }
  }

  function tick() {
    const t = current.ticket;
    const box = document.querySelector('[data-testid="ticket-page"] [data-testid="sla-clocks"]');
    if (!t || !box) return;
    const desk = window.HezoDesk;
    box.replaceWith(P.clockList(t, desk.calendarOf(t.customer), desk.now()));
  }

  function status(text, isError) {
    const el = document.getElementById('action-status');
    if (!el) return;
    el.className = isError ? 'error' : 'ok-note';
    el.textContent = text;
    el.hidden = false;
  }

  async function act(label, fn, clearIds = []) {
    // What was sent: a field is cleared after success only if it still holds it (the live stream may show the
    // change before the answer arrives, and the engineer may already be typing the next one).
    const sent = new Map(clearIds.map((id) => [id, document.getElementById(id)?.value]));
    try {
      await fn();
      for (const id of clearIds) {
        const el = document.getElementById(id);
        if (el && el.value === sent.get(id)) el.value = '';
      }
      status(`${label}: done.`, false);
      await load(current.id, false);
    } catch (err) {
      status(`${label}: ${err.message}`, true);
    }
  }

  function lifecycleButtons(t) {
    const allowed = (window.HezoDesk.lifecycle || FALLBACK)[t.state] || [];
    const note = h('input', {
      id: 'transition-note',
      'data-testid': 'transition-note',
      placeholder: 'what was done / agreed',
    });
    if (allowed.length === 0)
      return h('p', { class: 'hint', text: `${TICKET_STATE[t.state]}: final state, no further steps.` });
    return h(
      'div',
      { 'data-testid': 'lifecycle' },
      field('Note for the next step (optional)', note),
      h(
        'div',
        { class: 'row-actions' },
        allowed.map((to) =>
          h('button', {
            type: 'button',
            class: to === 'rejected' || to === 'closed' ? 'secondary' : '',
            'data-testid': 'transition',
            'data-to': to,
            text: ACTION[to] || to,
            onclick: () =>
              void act(
                ACTION[to] || to,
                () =>
                  api.post(`/api/tickets/${encodeURIComponent(t.id)}/transitions`, {
                    to,
                    note: note.value.trim(),
                  }),
                ['transition-note'],
              ),
          }),
        ),
      ),
    );
  }

  function contactForm(t) {
    const text = h('textarea', { id: 'contact-note', 'data-testid': 'contact-note', required: true });
    return h(
      'form',
      {
        'data-testid': 'contact-form',
        onsubmit: (e) => {
          e.preventDefault();
          if (!text.value.trim()) return status('Contact: say what was said.', true);
          void act(
            'Contact logged',
            () =>
              api.post(`/api/tickets/${encodeURIComponent(t.id)}/contacts`, {
                note: text.value.trim(),
              }),
            ['contact-note'],
          );
        },
      },
      field(
        t.state === 'open'
          ? 'Contact with the reporter (acknowledges the ticket)'
          : 'Contact / update given to the reporter (restarts the update clock)',
        text,
      ),
      h('button', { type: 'submit', 'data-testid': 'contact-submit', text: 'Log contact' }),
    );
  }

  function noteForm(t) {
    const text = h('textarea', { id: 'note-text', 'data-testid': 'note-text', required: true });
    const visibility = h(
      'select',
      { id: 'note-visibility', 'data-testid': 'note-visibility' },
      option('internal', 'internal (engineers only)', true),
      option('customer', 'visible to the customer'),
    );
    return h(
      'form',
      {
        'data-testid': 'note-form',
        onsubmit: (e) => {
          e.preventDefault();
          if (!text.value.trim()) return status('Note: write something first.', true);
          const sentVisibility = visibility.value;
          void act(
            'Note added',
            () =>
              api
                .post(`/api/tickets/${encodeURIComponent(t.id)}/notes`, {
                  text: text.value.trim(),
                  visibility: sentVisibility,
                })
                .then(() => {
                  // Back to the safe choice: the next note is internal unless the engineer says otherwise again
                  // (the form on the page now, which a live update may have rebuilt; a new choice is kept).
                  const live = document.getElementById('note-visibility');
                  if (live && live.value === sentVisibility) live.value = 'internal';
                }),
            ['note-text'],
          );
        },
      },
      field('Note', text),
      field('Who may read it', visibility),
      h('button', { type: 'submit', class: 'secondary', 'data-testid': 'note-submit', text: 'Add note' }),
    );
  }

  function deliveryForm(t) {
    if (!(t.sla.running || []).includes('delivery')) return null;
    const date = h('input', {
      type: 'datetime-local',
      id: 'delivery-date',
      'data-testid': 'delivery-date',
      required: true,
    });
    return h(
      'form',
      {
        'data-testid': 'delivery-form',
        onsubmit: (e) => {
          e.preventDefault();
          const dueAt = new Date(date.value).toISOString();
          void act('Delivery date agreed', () =>
            api.post(`/api/tickets/${encodeURIComponent(t.id)}/delivery-agreement`, {
              dueAt,
              note: 'agreed with the customer',
            }),
          );
        },
      },
      field(
        'Later delivery date agreed with the customer',
        date,
        `due now: ${T.dateTime(t.sla.deliveryDue, window.HezoDesk.calendarOf(t.customer)?.timeZone)}`,
      ),
      h('button', { type: 'submit', class: 'secondary', text: 'Record agreed date' }),
    );
  }

  function render() {
    const t = current.ticket;
    if (!t) return;
    const desk = window.HezoDesk;
    const cal = desk.calendarOf(t.customer);
    const room = desk.roomOf(t.serial);
    const focusedId = document.activeElement?.id;
    const kept = {};
    for (const id of ['transition-note', 'contact-note', 'note-text', 'note-visibility', 'delivery-date']) {
      const el = document.getElementById(id);
      if (el) kept[id] = el.value;
    }
    const statusEl = document.getElementById('action-status');
    const lastStatus = statusEl && !statusEl.hidden ? { text: statusEl.textContent, cls: statusEl.className } : null;
    pane().replaceChildren(
      h(
        'article',
        {
          'data-testid': 'ticket-page',
          'data-ticket-id': t.id,
          'data-state': t.state,
          'aria-labelledby': 'ticket-title',
        },
        h(
          'h2',
          { id: 'ticket-title' },
          h('span', { class: `prio ${t.priority}`, text: t.priority }),
          ` ${t.id} · ${room}`,
        ),
        h('p', { 'data-testid': 'ticket-title', text: t.title }),
        h(
          'p',
          { class: 'serial' },
          [
            `${t.serial}${t.model ? ` (${t.model})` : ''}`,
            t.site,
            t.customer,
            `channel ${t.channel}`,
            t.reporter ? `reported by ${t.reporter}` : null,
          ]
            .filter(Boolean)
            .join(' · '),
        ),
        h(
          'p',
          { 'data-testid': 'ticket-state' },
          h('strong', { text: `State: ${TICKET_STATE[t.state] || t.state}` }),
          ` · ${t.coverage === 'active' ? `✓ covered by ${t.contract}` : '✖ no active contract'}`,
        ),
        t.description ? h('p', { text: t.description }) : null,
        h('h3', { text: 'SLA clocks' }),
        P.clockList(t, cal, desk.now()),
        h('p', { id: 'action-status', role: 'status', 'data-testid': 'action-status', hidden: true }),
        h(
          'div',
          { class: 'ticket-cols' },
          h(
            'div',
            {},
            h('h3', { text: 'Next step' }),
            lifecycleButtons(t),
            h('h3', { text: 'Contact and notes' }),
            contactForm(t),
            noteForm(t),
            deliveryForm(t),
          ),
          h(
            'div',
            {},
            h('h3', { text: `Evidence (${(t.attachments || []).length})` }),
            P.evidenceList(t),
            h('h3', { text: 'Device health (recent polls)' }),
            current.health ? P.healthChart(current.health.health) : h('p', { class: 'hint', text: 'Loading…' }),
          ),
        ),
        h('h3', { text: 'History' }),
        P.historyTable(t.history, cal?.timeZone),
      ),
    );
    for (const [id, value] of Object.entries(kept)) {
      const el = document.getElementById(id);
      if (el && value) el.value = value;
    }
    if (lastStatus) {
      const el = document.getElementById('action-status');
      el.textContent = lastStatus.text;
      el.className = lastStatus.cls;
      el.hidden = false;
    }
    if (focusedId) document.getElementById(focusedId)?.focus();
  }

  window.HezoDeskTicket = { show, onStream, tick };
})();
