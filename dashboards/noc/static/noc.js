// HEZO+ NOC wall page: one websocket (/ws), a snapshot then deltas with seq, local 1 s countdowns.
// Plain browser JS, no build step. DOM is built with createElement/textContent only (no innerHTML).

(() => {
  const TOKEN_KEY = 'hezo.noc.token';
  const STATE_ORDER = ['down', 'degraded', 'unknown', 'up'];
  const STATE_LABEL = { up: '● UP', degraded: '◆ DEGRADED', down: '▲ DOWN', unknown: '? UNKNOWN' };
  const CLOCK_LABEL = { reaction: 'REACTION', update: 'NEXT UPDATE', delivery: 'DELIVERY', return: 'RETURN' };
  const CLOCK_DUE = { reaction: 'reactionDue', update: 'nextUpdateDue', delivery: 'deliveryDue', return: 'returnDue' };
  const WARN_BEFORE_MS = 15 * 60_000;
  const HEALTH_CHECK_MS = 15_000;

  const model = {
    devices: new Map(),
    tickets: new Map(),
    siteAlerts: new Map(),
    progress: new Map(),
    seq: -1,
    offsetMs: 0,
    /** GET /api/calendars: per customer {timeZone, openNow, nextOpening}, refreshed every minute. */
    calendars: new Map(),
    defaultCalendar: null,
  };
  const T = window.HezoText;
  const PROGRESS_STALE_MS = 120_000;
  const conn = { ws: null, attempt: 0, awaitingSnapshot: true, snapshotSeen: false, lastMessageAt: 0, retryTimer: 0 };
  // Several hub nodes (noc-hubs.js): the one streaming now, and the node of the last snapshot.
  const Hubs = window.HezoNocHubs;
  const hubList = Hubs.hubsFrom(location.href);
  const where = { index: 0, node: null, movedFrom: null };
  // Keepalive ping, silence limit and snapshot wait (shorter with several hubs: another node is waiting).
  const timing = Hubs.timing(hubList.hubs.length);
  let renderQueued = false;
  let openTicketId = null;

  const $ = (id) => document.getElementById(id);

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = value;
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) el.append(child);
    return el;
  }

  // ---------- token ----------
  function readToken() {
    const url = new URL(location.href);
    const fromUrl = url.searchParams.get('token');
    if (fromUrl) {
      sessionStorage.setItem(TOKEN_KEY, fromUrl);
      url.searchParams.delete('token');
      history.replaceState(null, '', url.pathname + url.search + url.hash);
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }
  const token = readToken();

  // ---------- time ----------
  const now = () => Date.now() + model.offsetMs;

  const formatSpan = T.formatSpan;
  const formatLate = T.formatLate;
  const calendarOf = (customer) => model.calendars.get(customer) || model.defaultCalendar;

  function formatSince(iso) {
    if (!iso) return '';
    const ms = now() - Date.parse(iso);
    return ms < 60_000 ? 'just now' : `for ${formatSpan(ms)}`;
  }

  // ---------- SLA clocks ----------
  /** Which clocks run in a ticket's current state (sla-rules.md, lifecycle). */
  function isRunning(clock, state) {
    switch (clock) {
      case 'reaction':
        return state === 'open';
      case 'update':
        return !['open', 'closed', 'rejected'].includes(state);
      case 'delivery':
        return state === 'accepted' || state === 'replacement_shipped';
      case 'return':
        return state === 'replacement_delivered';
      default:
        return false;
    }
  }

  /** [{clock, due, running, breached, warned, waiting, paused, remainingMs}] for the clocks worth showing. */
  function clocksOf(ticket) {
    const sla = ticket.sla || {};
    const breached = sla.breached || [];
    const warned = sla.warned || [];
    const cal = calendarOf(ticket.customer);
    const out = [];
    for (const clock of Object.keys(CLOCK_DUE)) {
      const due = sla[CLOCK_DUE[clock]];
      // The hub says which clocks run (hub/tickets/lifecycle.ts); older hubs: the page's own rule.
      const running =
        Boolean(due) && (Array.isArray(sla.running) ? sla.running.includes(clock) : isRunning(clock, ticket.state));
      const isBreached = breached.includes(clock) || (running && Date.parse(due) <= now());
      if (!running && !isBreached) continue;
      const remainingMs = due ? Date.parse(due) - now() : Number.NEGATIVE_INFINITY;
      // P2/P3 sent outside business hours: the clock starts at the next opening (SLA-5); 8x5 clocks pause at night.
      const waiting =
        !isBreached && clock === 'reaction' && Boolean(sla.clockStart) && Date.parse(sla.clockStart) > now();
      const paused =
        !isBreached &&
        !waiting &&
        ticket.priority !== 'P1' &&
        clock !== 'return' &&
        cal !== null &&
        cal.openNow === false;
      const isWarned = !isBreached && !waiting && !paused && (warned.includes(clock) || remainingMs <= WARN_BEFORE_MS);
      out.push({ clock, due, running, breached: isBreached, warned: isWarned, waiting, paused, remainingMs });
    }
    return out;
  }

  function urgency(ticket) {
    let min = Number.POSITIVE_INFINITY;
    for (const c of clocksOf(ticket)) if (c.running || c.breached) min = Math.min(min, c.remainingMs);
    return min;
  }

  /** The room name (devices[].name) first, the serial second. */
  function roomOf(serial) {
    const d = model.devices.get(serial);
    return d?.name || serial;
  }

  /** The device's open ticket (its summary has the evidence lines, its title the problem in words). */
  function ticketOf(serial) {
    for (const t of model.tickets.values()) if (t.serial === serial) return t;
    return undefined;
  }

  function clockText(c, ticket) {
    const tz = calendarOf(ticket.customer)?.timeZone;
    if (c.breached) return c.running && c.due ? `BREACHED ${formatLate(-c.remainingMs)}` : 'BREACHED';
    if (c.waiting) return `starts ${T.weekdayTime(ticket.sla.clockStart, tz)}`;
    if (c.paused) return `paused until ${T.weekdayTime(calendarOf(ticket.customer).nextOpening, tz)}`;
    return c.warned ? `◆ ${formatSpan(c.remainingMs)}` : formatSpan(c.remainingMs);
  }

  function clockLevel(c) {
    if (c.breached) return 'breached';
    if (c.waiting || c.paused) return 'paused';
    return c.warned ? 'warned' : c.running ? 'running' : 'stopped';
  }

  // ---------- render ----------
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      render();
    });
  }

  function render() {
    renderCounts();
    renderSiteAlerts();
    renderActivity();
    renderTickets();
    renderDevices();
  }

  function renderCounts() {
    const counts = { down: 0, degraded: 0, unknown: 0, up: 0 };
    for (const d of model.devices.values()) counts[d.state] = (counts[d.state] || 0) + 1;
    $('counts').replaceChildren(
      ...STATE_ORDER.map((s) =>
        h('span', {
          class: `count ${s}${counts[s] ? '' : ' zero'}`,
          'data-testid': `count-${s}`,
          'data-count': counts[s],
          text: `${STATE_LABEL[s]} ${counts[s]}`,
        }),
      ),
    );
  }

  function renderSiteAlerts() {
    const alerts = [...model.siteAlerts.values()];
    $('site-alerts').replaceChildren(
      ...alerts.map((a) =>
        h('div', {
          class: 'site-alert',
          'data-testid': 'site-alert',
          'data-site': a.site,
          // `detail` names the cause when it is not the agent being offline (e.g. "agent clock 600 s ahead").
          text: a.detail
            ? `⚠ SITE ${a.site}: ${a.serials.length} device(s) not watched - ${a.detail} (${T.problemText(a.reason)})`
            : `⚠ SITE ${a.site}: agent ${a.agentId} offline - ${a.serials.length} device(s) not watched (${T.problemText(a.reason)})`,
        }),
      ),
    );
  }

  function formatAmount(value, unit) {
    if (unit !== 'bytes') return String(value);
    if (value >= 1_048_576) return `${(value / 1_048_576).toFixed(1)} MB`;
    return `${Math.round(value / 1024)} KB`;
  }

  // Long tasks (outbox replays, log uploads, evidence transfers), so nobody wonders whether something is stuck.
  function renderActivity() {
    const fresh = [...model.progress.values()].filter((p) => now() - Date.parse(p.at) < PROGRESS_STALE_MS);
    $('activity').replaceChildren(
      ...fresh.map((p) => {
        const pct = p.total > 0 ? Math.min(100, Math.floor((p.done / p.total) * 100)) : 0;
        // CSSOM, not a style attribute: the page's CSP forbids inline styles.
        const fill = h('span', { class: 'activity-fill' });
        fill.style.width = `${pct}%`;
        return h(
          'div',
          { class: 'activity-item', 'data-testid': 'activity-item', 'data-key': p.key },
          h('span', {
            class: 'activity-text',
            text: `⇅ ${p.source} · ${p.task} · ${formatAmount(p.done, p.unit)}/${formatAmount(p.total, p.unit)} (${pct} %)`,
          }),
          h('span', { class: 'activity-bar' }, fill),
        );
      }),
    );
  }

  function renderTickets() {
    const tickets = [...model.tickets.values()]
      .map((t) => ({ t, u: urgency(t) }))
      .sort(
        (a, b) => a.u - b.u || a.t.priority.localeCompare(b.t.priority) || a.t.openedAt.localeCompare(b.t.openedAt),
      );
    $('ticket-count').textContent = String(tickets.length);
    $('no-tickets').hidden = tickets.length > 0;
    $('tickets').replaceChildren(...tickets.map(({ t }) => ticketCard(t)));
  }

  function ticketCard(t) {
    const clocks = clocksOf(t);
    const breached = clocks.filter((c) => c.breached).map((c) => c.clock);
    const room = roomOf(t.serial);
    const where = [room === t.serial ? null : t.serial, t.site, t.customer].filter(Boolean).join(' · ');
    const coverage =
      t.coverage === 'active'
        ? `✓ covered by ${t.contract}`
        : `✖ no contract coverage${t.contract ? ` (${t.contract} ended)` : ''}`;
    return h(
      'li',
      {
        class: `ticket${breached.length ? ' is-breached' : ''}${clocks.some((c) => c.warned) ? ' is-warned' : ''}`,
        tabindex: 0,
        'data-testid': 'ticket',
        'data-ticket-id': t.id,
        'data-ticket-serial': t.serial,
        'data-state': t.state,
        'data-priority': t.priority,
        'data-breached': breached.join(' ') || null,
        onclick: () => openDetail(t.id),
        onkeydown: (e) => e.key === 'Enter' && openDetail(t.id),
      },
      h(
        'div',
        { class: 't-head' },
        h('span', { class: `prio ${t.priority}`, text: t.priority }),
        h('span', { class: 't-room', 'data-testid': 'ticket-room', text: room }),
        h('span', { class: 't-id', text: t.id }),
      ),
      h('div', { class: 't-title', 'data-testid': 'ticket-title', text: t.title }),
      h('div', { class: 't-meta', text: `${where} · ${t.state.replaceAll('_', ' ').toUpperCase()} · ${t.channel}` }),
      h('div', { class: `t-coverage ${t.coverage}`, 'data-testid': 'ticket-coverage', text: coverage }),
      clocks.length
        ? h('div', { class: 'clocks' }, ...clocks.map((c) => clockBox(c, t)))
        : h('div', { class: 'no-sla', text: t.coverage === 'none' ? 'no contract coverage - no SLA clocks' : '' }),
    );
  }

  function clockBox(c, t) {
    const cls = clockLevel(c);
    return h(
      'div',
      { class: `clock ${cls}`, 'data-testid': 'clock', 'data-clock': c.clock, 'data-due': c.due, 'data-level': cls },
      h('span', { class: 'c-label', text: CLOCK_LABEL[c.clock] }),
      h('span', { class: 'c-value', 'data-testid': 'countdown', text: clockText(c, t) }),
    );
  }

  function renderDevices() {
    const byCustomer = new Map();
    for (const d of model.devices.values()) {
      if (!byCustomer.has(d.customer)) byCustomer.set(d.customer, new Map());
      const sites = byCustomer.get(d.customer);
      if (!sites.has(d.site)) sites.set(d.site, []);
      sites.get(d.site).push(d);
    }
    const alertedSites = new Set([...model.siteAlerts.values()].map((a) => a.site));
    const rank = (d) => STATE_ORDER.indexOf(d.state);
    const customers = [...byCustomer.keys()].sort();
    $('devices').replaceChildren(
      ...customers.map((customer) => {
        const sites = byCustomer.get(customer);
        return h(
          'div',
          { class: 'customer', 'data-testid': 'customer', 'data-customer': customer },
          h('h3', { text: model.calendars.get(customer)?.name || customer }),
          ...[...sites.keys()].sort().map((site) => {
            const devices = sites
              .get(site)
              .sort((a, b) => rank(a) - rank(b) || (a.name || a.serial).localeCompare(b.name || b.serial));
            return h(
              'div',
              { class: `site${alertedSites.has(site) ? ' alerted' : ''}`, 'data-testid': 'site', 'data-site': site },
              h('h4', { text: `${site}${alertedSites.has(site) ? '  ⚠ agent offline' : ''}` }),
              h('div', { class: 'tiles' }, ...devices.map((d) => deviceTile(d))),
            );
          }),
        );
      }),
    );
  }

  function deviceTile(d) {
    const state = STATE_LABEL[d.state] ? d.state : 'unknown';
    const why = T.deviceReason(d, ticketOf(d.serial));
    const sub = d.state === 'up' ? d.model : [why, formatSince(d.since)].filter(Boolean).join(' · ');
    return h(
      'div',
      {
        class: `tile ${state}`,
        'data-testid': 'device',
        'data-serial': d.serial,
        'data-state': state,
        title: `${d.serial} ${d.model} ${d.firmware || ''}`,
      },
      h('div', { class: 'st', text: `${STATE_LABEL[state]}${d.maintenance ? ' (maint.)' : ''}` }),
      h('div', { class: 'nm', text: d.name || d.serial }),
      d.name ? h('div', { class: 'serial', text: d.serial }) : null,
      h('div', { class: 'sub', 'data-testid': 'device-reason', text: sub || d.serial }),
      d.identityAlerts && d.identityAlerts.length > 0
        ? h('div', {
            class: 'idalert',
            'data-testid': 'identity-alert',
            text: `⚠ ${d.identityAlerts.map((a) => (a.channel === 'rest' ? 'certificate' : 'SSH host key')).join(' + ')} changed`,
          })
        : null,
    );
  }

  /** Every second: countdown texts only; a clock that crossed into warning/breach triggers a full render. */
  function tick() {
    renderWallClock();
    let changed = false;
    for (const card of document.querySelectorAll('[data-testid="ticket"]')) {
      const ticket = model.tickets.get(card.dataset.ticketId);
      if (!ticket) continue;
      const byName = new Map(clocksOf(ticket).map((c) => [c.clock, c]));
      for (const box of card.querySelectorAll('[data-testid="clock"]')) {
        const c = byName.get(box.dataset.clock);
        const level = c ? clockLevel(c) : '';
        if (!c || level !== box.dataset.level) changed = true;
        else box.querySelector('[data-testid="countdown"]').textContent = clockText(c, ticket);
      }
    }
    if (changed) scheduleRender();
    if (conn.ws && conn.ws.readyState === WebSocket.OPEN && Date.now() - conn.lastMessageAt > timing.silenceLimitMs) {
      dropStream(conn.ws, 'silent stream');
    }
  }

  /** One clock per customer time zone (the hub's default first), e.g. `14:03:22 Warsaw`. */
  function renderWallClock() {
    const zones = [];
    for (const cal of [model.defaultCalendar, ...model.calendars.values()]) {
      if (cal && !zones.includes(cal.timeZone)) zones.push(cal.timeZone);
    }
    if (zones.length === 0) zones.push(Intl.DateTimeFormat().resolvedOptions().timeZone);
    const text = zones
      .map((tz) => {
        const time = new Date(now()).toLocaleTimeString('en-GB', { timeZone: tz, hour12: false });
        return `${time} ${tz.split('/').at(-1).replaceAll('_', ' ')}`;
      })
      .join(' · ');
    const el = $('wall-clock');
    if (el.textContent !== text) el.textContent = text;
    el.dataset.timeZones = zones.join(' ');
  }

  async function loadCalendars() {
    try {
      const body = await (await api('/api/calendars')).json();
      model.defaultCalendar = body.default;
      model.calendars = new Map(body.customers.map((c) => [c.customer, c]));
      scheduleRender();
    } catch {
      // older hub or no access: countdowns without "paused", the browser's time zone
    }
  }

  // ---------- stream ----------
  function setStreamState(isLive, retryInMs) {
    $('stream-banner').hidden = isLive;
    const next = hubList.hubs.length > 1 ? ` ${new URL(hubList.hubs[where.index]).host}` : '';
    $('stream-retry').textContent = retryInMs ? ` (retry${next} in ${Math.ceil(retryInMs / 1000)} s)` : '';
    const status = $('stream-status');
    status.textContent = isLive ? 'LIVE' : 'STREAM LOST';
    status.className = `stream-status ${isLive ? 'live' : 'stale'}`;
    document.body.dataset.stream = isLive ? 'live' : 'lost';
  }

  function connect() {
    clearTimeout(conn.retryTimer);
    const ws = new WebSocket(Hubs.streamUrl(hubList.hubs[where.index], token));
    conn.ws = ws;
    conn.awaitingSnapshot = true;
    conn.snapshotSeen = false;
    conn.lastMessageAt = Date.now();
    ws.onmessage = (ev) => conn.ws === ws && onMessage(ev.data);
    ws.onclose = () => streamEnded(ws);
    // A hub that takes the connection but never sends its snapshot (frozen, half dead): move on.
    setTimeout(() => conn.ws === ws && !conn.snapshotSeen && dropStream(ws, 'no snapshot'), timing.snapshotWaitMs);
  }

  /** Leave a stream at once: a frozen hub never completes the closing handshake the browser would wait for. */
  function dropStream(ws, reason) {
    ws.close(4000, reason);
    streamEnded(ws);
  }

  function streamEnded(ws) {
    if (conn.ws !== ws) return;
    conn.ws = null;
    // The next hub of the list (the same one when there is only one), backing off per round over the list.
    where.index = (where.index + 1) % hubList.hubs.length;
    const delay = Hubs.retryDelayMs(conn.attempt, hubList.hubs.length);
    conn.attempt += 1;
    setStreamState(false, delay);
    conn.retryTimer = setTimeout(connect, delay);
  }

  function onMessage(raw) {
    conn.lastMessageAt = Date.now();
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (msg.type === 'snapshot') return applySnapshot(msg);
    if (typeof msg.seq !== 'number' || conn.awaitingSnapshot) return;
    if (msg.seq <= model.seq) return;
    if (msg.seq !== model.seq + 1) {
      conn.awaitingSnapshot = true;
      conn.ws.send(JSON.stringify({ type: 'resync' }));
      return;
    }
    model.seq = msg.seq;
    applyDelta(msg);
    scheduleRender();
  }

  function applySnapshot(msg) {
    model.offsetMs = Date.parse(msg.at) - Date.now();
    model.seq = msg.seq;
    model.devices = new Map(msg.devices.map((d) => [d.serial, d]));
    model.tickets = new Map(msg.tickets.map((t) => [t.id, t]));
    model.siteAlerts = new Map(msg.siteAlerts.map((a) => [`${a.site}/${a.agentId}`, a]));
    model.progress = new Map((msg.progress || []).map((p) => [p.key, p]));
    conn.awaitingSnapshot = false;
    conn.snapshotSeen = true;
    conn.attempt = 0;
    const origin = hubList.hubs[where.index];
    const node = Hubs.nodeName(msg.node, origin);
    if (where.node !== null && where.node !== node) where.movedFrom = { node: where.node, at: Date.now() };
    where.node = node;
    Hubs.showNode($('hub-node'), { node, origin, movedFrom: where.movedFrom });
    setStreamState(true);
    scheduleRender();
  }

  function applyDelta(msg) {
    const data = msg.data;
    switch (msg.type) {
      case 'device':
        model.devices.set(data.serial, data);
        break;
      case 'ticket':
        if (data.state === 'closed' || data.state === 'rejected') model.tickets.delete(data.id);
        else model.tickets.set(data.id, data);
        if (data.id === openTicketId) void loadDetail(data.id);
        break;
      case 'sla': {
        const t = model.tickets.get(data.ticketId);
        if (t) {
          const key = data.level === 'breach' ? 'breached' : 'warned';
          const list = t.sla[key] || [];
          if (!list.includes(data.clock)) t.sla[key] = [...list, data.clock];
        }
        break;
      }
      case 'progress':
        if (data.done >= data.total) model.progress.delete(data.key);
        else model.progress.set(data.key, data);
        break;
      case 'site-alert':
        if (data.status === 'raised') model.siteAlerts.set(`${data.site}/${data.agentId}`, data);
        else model.siteAlerts.delete(`${data.site}/${data.agentId}`);
        break;
      default:
        break;
    }
  }

  // ---------- ticket detail ----------
  async function api(path) {
    const res = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res;
  }

  function openDetail(id) {
    openTicketId = id;
    $('detail').hidden = false;
    $('detail').dataset.ticketId = id;
    $('detail-body').replaceChildren(h('p', { text: `Loading ${id}…` }));
    void loadDetail(id);
  }

  function closeDetail() {
    openTicketId = null;
    $('detail').hidden = true;
  }

  async function loadDetail(id) {
    try {
      const ticket = await (await api(`/api/tickets/${encodeURIComponent(id)}`)).json();
      if (openTicketId === id) $('detail-body').replaceChildren(...detailView(ticket));
    } catch (err) {
      if (openTicketId === id) $('detail-body').replaceChildren(h('p', { class: 'error', text: String(err.message) }));
    }
  }

  /** Local wall time `YYYY-MM-DD HH:MM:SS` (or '-'). */
  function formatTime(iso) {
    return iso ? new Date(iso).toLocaleString('sv-SE', { hour12: false }) : '-';
  }

  function row(label, value) {
    return h('tr', {}, h('th', { text: label }), h('td', { text: value ?? '-' }));
  }

  function detailView(t) {
    const sla = t.sla || {};
    const history = t.history || [];
    const attachments = t.attachments || [];
    return [
      h('h2', { text: `${t.priority} ${t.id}: ${roomOf(t.serial)} - ${t.title}` }),
      h(
        'table',
        {},
        row('State', t.state),
        row('Room / device', [roomOf(t.serial), t.serial, t.model].filter(Boolean).join(' · ')),
        row('Site / customer', [t.site, t.customer].filter(Boolean).join(' / ')),
        row('Contract', `${t.contract ?? '-'} (coverage: ${t.coverage})`),
        row('Channel', t.channel),
        row('Opened', formatTime(t.openedAt)),
        row('Reaction due', formatTime(sla.reactionDue)),
        row('Next update due', formatTime(sla.nextUpdateDue)),
        row('Delivery due', formatTime(sla.deliveryDue)),
        row('Return due', formatTime(sla.returnDue)),
        row('Breached', (sla.breached || []).join(', ') || 'none'),
      ),
      t.summary ? h('p', { text: t.summary }) : null,
      h('h3', { text: 'History' }),
      h(
        'table',
        { 'data-testid': 'ticket-history' },
        h(
          'tr',
          {},
          h('th', { text: 'At' }),
          h('th', { text: 'Change' }),
          h('th', { text: 'Actor' }),
          h('th', { text: 'Note' }),
        ),
        ...history.map((e) =>
          h(
            'tr',
            {},
            h('td', { text: formatTime(e.at) }),
            h('td', { text: `${e.from ?? '∅'} → ${e.to}` }),
            h('td', { text: e.actor }),
            h('td', { text: e.note }),
          ),
        ),
      ),
      h('h3', { text: `Attachments (${attachments.length})` }),
      h(
        'ul',
        { 'data-testid': 'ticket-attachments' },
        ...attachments.map((a) =>
          h(
            'li',
            {},
            h('button', {
              type: 'button',
              class: 'attachment',
              'data-testid': 'attachment',
              'data-name': a.name,
              text: `${a.name} (${a.kind}, ${a.size} B)`,
              onclick: () => void download(t.id, a.name),
            }),
          ),
        ),
      ),
    ].filter(Boolean);
  }

  /** Attachments need the token header, so a plain link cannot fetch them: fetch, then save the blob. */
  async function download(id, name) {
    const blob = await (
      await api(`/api/tickets/${encodeURIComponent(id)}/attachments/${encodeURIComponent(name)}`)
    ).blob();
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  // ---------- devices pending adoption (reported by an agent, registered by nobody) ----------
  const PENDING_POLL_MS = 30_000;
  async function loadPending() {
    try {
      const list = await (await api('/api/devices/pending')).json();
      const box = $('pending');
      box.hidden = list.length === 0;
      box.replaceChildren(
        h('h3', { text: `Pending adoption (${list.length}) - not monitored until an admin adopts them` }),
        h(
          'ul',
          {},
          ...list.map((d) =>
            h('li', {
              'data-testid': 'pending-device',
              'data-serial': d.serial,
              text: `${d.serial} ${d.model} · site ${d.site} · agent ${d.agentId} · since ${d.firstSeen}`,
            }),
          ),
        ),
      );
    } catch {
      // shown again on the next poll
    }
  }

  // ---------- start ----------
  $('detail-close').addEventListener('click', closeDetail);
  document.addEventListener('keydown', (e) => e.key === 'Escape' && closeDetail());
  if (!token) {
    $('token-banner').hidden = false;
    setStreamState(false);
    $('stream-banner').hidden = true;
    return;
  }
  // The hub's own health (disk full: store writes waiting for a retry), from the public /healthz.
  async function checkHubHealth() {
    try {
      const res = await fetch('/healthz');
      const body = await res.json();
      const banner = $('storage-banner');
      banner.hidden = body.status !== 'degraded';
      if (!banner.hidden) banner.textContent = `✖ HUB DEGRADED - ${(body.reasons ?? []).join('; ')}`;
    } catch {
      // the stream banner already says when the hub is unreachable
    }
  }
  setInterval(checkHubHealth, HEALTH_CHECK_MS);
  void checkHubHealth();
  setInterval(tick, 1000);
  setInterval(() => {
    if (conn.ws && conn.ws.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify({ type: 'ping' }));
  }, timing.keepaliveMs);
  tick();
  connect();
  void loadCalendars();
  setInterval(() => void loadCalendars(), 60_000);
  void loadPending();
  setInterval(() => void loadPending(), PENDING_POLL_MS);
})();
