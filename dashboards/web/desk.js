// Service desk: the queue of open tickets sorted by the next SLA deadline, with filters, live over /ws.
// Routes in the hash: #/ticket/<id> (desk-ticket.js), #/new (desk-form.js).
(() => {
  const api = window.HezoApi;
  const { h, option, TICKET_STATE } = window.HezoDom;
  const P = window.HezoParts;
  const $ = (id) => document.getElementById(id);

  const desk = {
    live: null,
    user: null,
    calendars: new Map(),
    defaultCalendar: null,
    lifecycle: null,
    customers: [],
    calendarOf(customer) {
      return desk.calendars.get(customer) || desk.defaultCalendar;
    },
    now() {
      return desk.live ? desk.live.now() : Date.now();
    },
    roomOf(serial) {
      const d = desk.live?.model.devices.get(serial);
      return d?.name || serial;
    },
    renderQueue,
  };
  window.HezoDesk = desk;

  async function loadCalendars() {
    try {
      const body = await api.get('/api/calendars');
      desk.defaultCalendar = body.default;
      desk.calendars = new Map(body.customers.map((c) => [c.customer, c]));
      desk.customers = body.customers;
      const sel = $('f-customer');
      const current = sel.value;
      sel.replaceChildren(
        option('', 'all'),
        ...body.customers.map((c) => option(c.customer, c.name, c.customer === current)),
      );
    } catch {
      // older hub: no paused clocks, browser time zone
    }
  }

  function matches(t, next) {
    const f = {
      priority: $('f-priority').value,
      customer: $('f-customer').value,
      state: $('f-state').value,
      sla: $('f-sla').value,
    };
    if (f.priority && t.priority !== f.priority) return false;
    if (f.customer && t.customer !== f.customer) return false;
    if (f.state && t.state !== f.state) return false;
    if (f.sla === 'breached' && next.status !== 'breached' && !(t.sla.breached || []).length) return false;
    if (f.sla === 'risk' && next.status !== 'warned') return false;
    if (f.sla === 'paused' && next.status !== 'paused' && next.status !== 'waiting') return false;
    return true;
  }

  function renderQueue() {
    if (!desk.live) return;
    const now = desk.now();
    const rows = [...desk.live.model.tickets.values()]
      .map((t) => ({ t, next: P.nextClock(t, desk.calendarOf(t.customer), now) }))
      .sort(
        (a, b) =>
          rank(a.next) - rank(b.next) ||
          a.next.dueMs - b.next.dueMs ||
          a.t.priority.localeCompare(b.t.priority) ||
          a.t.openedAt.localeCompare(b.t.openedAt),
      );
    const shown = rows.filter(({ t, next }) => matches(t, next));
    const selected = currentTicketId();
    const focused = document.activeElement?.closest?.('[data-testid="queue-row"]')?.dataset.ticketId;
    $('queue-count').textContent = `(${shown.length} of ${rows.length})`;
    $('queue-empty').hidden = shown.length > 0;
    $('queue-rows').replaceChildren(
      ...shown.map(({ t, next }) => {
        const room = desk.roomOf(t.serial);
        return h(
          'tr',
          {
            tabindex: 0,
            class: t.id === selected ? 'selected' : '',
            'aria-current': t.id === selected ? 'true' : null,
            'data-testid': 'queue-row',
            'data-ticket-id': t.id,
            'data-priority': t.priority,
            'data-state': t.state,
            'data-serial': t.serial,
            'data-next': next.status,
            onclick: () => openTicket(t.id),
            onkeydown: (e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                openTicket(t.id);
              }
            },
          },
          h('td', {}, h('span', { class: `prio ${t.priority}`, text: t.priority })),
          h(
            'td',
            {},
            h('div', { class: 'room', text: room }),
            h('div', {
              class: 'serial',
              text: `${t.id} · ${room === t.serial ? '' : `${t.serial} · `}${window.HezoText.shortTitle(t)}`,
            }),
          ),
          h('td', { class: 'opt', text: t.customer || '-' }),
          h('td', { class: 'opt', text: TICKET_STATE[t.state] || t.state }),
          h('td', {
            class: `next-clock ${next.status}`,
            'data-testid': 'next-clock',
            text:
              next.status === 'breached' ? `✖ ${next.text}` : next.status === 'warned' ? `◆ ${next.text}` : next.text,
          }),
        );
      }),
    );
    refocus(focused);
  }

  /** Keep keyboard focus on the same ticket across the every-second re-render. */
  function refocus(id) {
    if (!id) return;
    for (const row of document.querySelectorAll('[data-testid="queue-row"]'))
      if (row.dataset.ticketId === id) row.focus();
  }

  function rank(next) {
    return { breached: 0, warned: 1, running: 2, paused: 3, waiting: 3, none: 5 }[next.status] ?? 4;
  }

  function currentTicketId() {
    const m = /^#\/ticket\/([^/]+)$/.exec(location.hash);
    return m ? decodeURIComponent(m[1]) : null;
  }

  function openTicket(id) {
    location.hash = `#/ticket/${encodeURIComponent(id)}`;
  }

  function route() {
    const id = currentTicketId();
    if (id) window.HezoDeskTicket.show(id);
    else if (location.hash === '#/new') window.HezoDeskForm.show();
    else if (location.hash === '#/report') window.HezoDeskReport.show();
    renderQueue();
  }

  async function start() {
    const user = await api.requireUser(['admin', 'engineer']);
    if (!user) return;
    desk.user = user;
    $('who').textContent = `${user.name} (${user.role})`;
    $('f-state').append(
      ...Object.entries(TICKET_STATE)
        .filter(([s]) => s !== 'closed' && s !== 'rejected')
        .map(([s, text]) => option(s, text)),
    );
    for (const id of ['f-priority', 'f-customer', 'f-state', 'f-sla']) $(id).addEventListener('change', renderQueue);
    $('filters').addEventListener('submit', (e) => e.preventDefault());
    $('sign-out').addEventListener('click', () => void api.signOut());
    $('new-ticket').addEventListener('click', () => {
      location.hash = '#/new';
    });
    $('reports').addEventListener('click', () => {
      location.hash = '#/report';
    });
    try {
      desk.lifecycle = (await api.get('/api/lifecycle')).transitions;
    } catch {
      desk.lifecycle = null;
    }
    await loadCalendars();
    setInterval(() => void loadCalendars(), 60_000);
    desk.live = window.HezoLive.connectLive({
      url: api.wsUrl,
      onStatus: (isLive) => {
        const el = $('stream-status');
        el.textContent = isLive ? 'LIVE' : 'STREAM LOST - reconnecting';
        el.className = `stream ${isLive ? 'live' : 'lost'}`;
        document.body.dataset.stream = isLive ? 'live' : 'lost';
      },
      onChange: (_model, msg) => {
        renderQueue();
        window.HezoDeskTicket.onStream(msg);
      },
    });
    const tick = () => {
      const tz = desk.defaultCalendar?.timeZone;
      $('clock').textContent =
        new Date(desk.now()).toLocaleTimeString('en-GB', { timeZone: tz, hour12: false }) +
        (tz ? ` ${tz.split('/').at(-1)}` : '');
      renderQueue();
      window.HezoDeskTicket.tick();
    };
    tick();
    setInterval(tick, 1000);
    window.addEventListener('hashchange', route);
    route();
  }

  void start();
})();
