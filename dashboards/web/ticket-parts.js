// Pieces of a ticket shared by the desk and the portal (window.HezoParts): SLA clocks, history, evidence with an
// inline viewer, the device's recent health as a small chart, the priority choice with the service's definitions.
(() => {
  const { h, svg } = window.HezoDom;
  const T = window.HezoText;

  /** Every SLA clock: running, waiting for / paused until the next opening (says so), met, breached. */
  function clockList(ticket, calendar, nowMs) {
    if (ticket.coverage === 'none') {
      return h('p', {
        class: 'notice',
        'data-testid': 'no-clocks',
        text: 'No active contract covers this device: no SLA clocks run (SLA-2).',
      });
    }
    const tz = calendar?.timeZone;
    return h(
      'div',
      { class: 'clock-list', 'data-testid': 'sla-clocks' },
      T.clockStates(ticket, nowMs, calendar).map((c) =>
        h(
          'div',
          {
            class: `sla-clock ${c.status}`,
            'data-testid': 'sla-clock',
            'data-clock': c.clock,
            'data-status': c.status,
          },
          h('span', { class: 'c-label', text: c.label }),
          h('span', { class: 'c-value', 'data-testid': 'clock-text', text: clockWords(c, ticket, calendar) }),
          c.due ? h('span', { class: 'c-due', text: `due ${T.dateTime(c.due, tz)}` }) : null,
        ),
      ),
    );
  }

  function clockWords(c, ticket, calendar) {
    const text = T.clockText(c, ticket, calendar);
    if (c.status === 'running' || c.status === 'warned') return `${text} left`;
    return text;
  }

  /** The most urgent clock of a ticket for a queue row: {status, text, dueMs}. */
  function nextClock(ticket, calendar, nowMs) {
    const active = T.clockStates(ticket, nowMs, calendar).filter((c) => c.running || c.status === 'breached');
    if (active.length === 0)
      return {
        status: 'none',
        text: ticket.coverage === 'none' ? 'no SLA (no contract)' : '-',
        dueMs: Number.POSITIVE_INFINITY,
      };
    const rank = { breached: 0, warned: 1, running: 2, paused: 3, waiting: 3 };
    active.sort((a, b) => (rank[a.status] ?? 4) - (rank[b.status] ?? 4) || Date.parse(a.due) - Date.parse(b.due));
    const c = active[0];
    return {
      status: c.status,
      clock: c.clock,
      text: `${c.label}: ${T.clockText(c, ticket, calendar)}`,
      dueMs: c.due ? Date.parse(c.due) : Number.NEGATIVE_INFINITY,
    };
  }

  const KIND_WORD = {
    contact: 'contact logged',
    note: 'note (customer can read)',
    'internal-note': 'internal note',
    attachment: 'evidence attached',
    'delivery-agreement': 'delivery date agreed',
  };

  /** A history line's "what" in words: `Acknowledged → Verifying`, `internal note`. */
  function historyWhat(e) {
    if (e.kind === 'transition' || e.kind === 'opened' || !e.kind) {
      const word = (state) => window.HezoDom.TICKET_STATE[state] || state;
      return e.from ? `${word(e.from)} → ${word(e.to)}` : `opened (${word(e.to)})`;
    }
    return KIND_WORD[e.kind] || e.kind;
  }

  function historyTable(history, tz) {
    return h(
      'table',
      { class: 'history', 'data-testid': 'ticket-history' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { text: 'When' }),
          h('th', { text: 'What' }),
          h('th', { text: 'Who' }),
          h('th', { text: 'Note' }),
        ),
      ),
      h(
        'tbody',
        {},
        (history || []).map((e) =>
          h(
            'tr',
            { 'data-kind': e.kind || '' },
            h('td', { class: 'when', text: T.dateTime(e.at, tz) }),
            h('td', { text: historyWhat(e) }),
            h('td', { class: 'who', text: e.actor }),
            h('td', { text: e.note }),
          ),
        ),
      ),
    );
  }

  // ---------- evidence ----------
  const isArchive = (a) => /\.(tar|tar\.gz|tgz|gz|zip)$/i.test(a.name);
  const isTar = (a) => /\.(tar|tar\.gz|tgz)$/i.test(a.name) && typeof DecompressionStream === 'function';
  const isJson = (a) => /\.json$/i.test(a.name);

  /** Service-test JSON as a table: an array of objects (or {tests|results:[...]}) -> rows; else key/value rows. */
  function jsonTable(value) {
    const list = Array.isArray(value)
      ? value
      : Array.isArray(value?.tests)
        ? value.tests
        : Array.isArray(value?.results)
          ? value.results
          : null;
    const cell = (v) => {
      if (v === null || v === undefined) return '';
      if (typeof v !== 'object') return String(v);
      if (Array.isArray(v)) return v.map(cell).join(', ');
      return Object.entries(v)
        .map(([k, x]) => `${k}: ${typeof x === 'object' && x !== null ? JSON.stringify(x) : x}`)
        .join('; ');
    };
    if (list?.every((x) => x && typeof x === 'object')) {
      const keys = [...new Set(list.flatMap((x) => Object.keys(x)))];
      return h(
        'table',
        { 'data-testid': 'json-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            keys.map((k) => h('th', { scope: 'col', text: k })),
          ),
        ),
        h(
          'tbody',
          {},
          list.map((x) =>
            h(
              'tr',
              {},
              keys.map((k) => h('td', { text: cell(x[k]) })),
            ),
          ),
        ),
      );
    }
    return h(
      'table',
      { 'data-testid': 'json-table' },
      h(
        'tbody',
        {},
        Object.entries(value || {}).map(([k, v]) =>
          h('tr', {}, h('th', { scope: 'row', text: k }), h('td', { text: cell(v) })),
        ),
      ),
    );
  }

  function evidenceList(ticket) {
    const api = window.HezoApi;
    const viewer = h('div', { class: 'viewer-box', 'data-testid': 'evidence-viewer', 'aria-live': 'polite' });
    const base = `/api/tickets/${encodeURIComponent(ticket.id)}/attachments/`;
    /** The files inside a device-logs archive; a text file opens inline. */
    async function viewArchive(a) {
      viewer.replaceChildren(h('p', { text: `Loading ${a.name}…` }));
      try {
        const files = await window.HezoTar.read(await api.blob(base + encodeURIComponent(a.name)), a.name);
        const shown = h('div', {});
        viewer.replaceChildren(
          h('h4', { text: `${a.name}: ${files.length} file(s)` }),
          h(
            'ul',
            { 'data-testid': 'archive-files' },
            files.map((f) =>
              h(
                'li',
                {},
                `${f.name} (${f.size} B) `,
                f.text === null
                  ? h('span', { class: 'hint', text: 'binary' })
                  : h('button', {
                      type: 'button',
                      class: 'secondary',
                      'data-testid': 'archive-file-view',
                      'aria-label': `View ${f.name}`,
                      text: 'View',
                      onclick: () =>
                        shown.replaceChildren(
                          h('h4', { text: f.name }),
                          h('pre', { class: 'viewer', 'data-testid': 'text-viewer', text: f.text }),
                        ),
                    }),
              ),
            ),
          ),
          shown,
        );
      } catch (err) {
        viewer.replaceChildren(h('p', { class: 'error', text: `${a.name}: ${err.message}` }));
      }
    }

    async function view(a) {
      viewer.replaceChildren(h('p', { text: `Loading ${a.name}…` }));
      try {
        const text = await api.text(base + encodeURIComponent(a.name));
        const title = h('h4', { text: a.name });
        if (isJson(a)) {
          let parsed;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          viewer.replaceChildren(
            title,
            parsed === undefined
              ? h('pre', { class: 'viewer', text })
              : h('div', { class: 'viewer-table' }, jsonTable(parsed)),
          );
        } else viewer.replaceChildren(title, h('pre', { class: 'viewer', 'data-testid': 'text-viewer', text }));
      } catch (err) {
        viewer.replaceChildren(h('p', { class: 'error', text: err.message }));
      }
    }
    const items = (ticket.attachments || []).map((a) =>
      h(
        'li',
        { 'data-testid': 'evidence', 'data-name': a.name },
        h('span', { text: `${a.name} (${a.kind}, ${a.size} B) ` }),
        isArchive(a)
          ? isTar(a)
            ? h('button', {
                type: 'button',
                class: 'secondary',
                'data-testid': 'evidence-view',
                text: 'Open',
                'aria-label': `Open ${a.name}`,
                onclick: () => void viewArchive(a),
              })
            : null
          : h('button', {
              type: 'button',
              class: 'secondary',
              'data-testid': 'evidence-view',
              text: 'View',
              'aria-label': `View ${a.name}`,
              onclick: () => void view(a),
            }),
        ' ',
        h('button', {
          type: 'button',
          class: 'secondary',
          'data-testid': 'evidence-download',
          text: 'Download',
          'aria-label': `Download ${a.name}`,
          onclick: () => void api.download(base + encodeURIComponent(a.name), a.name),
        }),
      ),
    );
    return h(
      'div',
      {},
      items.length
        ? h('ul', { 'data-testid': 'evidence-list' }, items)
        : h('p', {
            class: 'hint',
            text: 'No evidence yet (logs and service tests arrive within minutes on a monitored device).',
          }),
      viewer,
    );
  }

  // ---------- health chart ----------
  /** The last health records as bars: height = channels answering, colour + letter for all/some/none. */
  function healthChart(records) {
    const list = (records || [])
      .slice()
      .sort((a, b) => a.observedAt.localeCompare(b.observedAt))
      .slice(-30);
    if (list.length === 0)
      return h('p', { class: 'hint', 'data-testid': 'health-chart-empty', text: 'No recent health records.' });
    const W = 300;
    const H = 80;
    const bw = W / list.length;
    let allOk = 0;
    const bars = list.map((r, i) => {
      const probes = Object.values(r.reachability || {});
      const ok = probes.filter((p) => p.ok).length;
      const failedComponents = (r.components || []).filter((c) => c.status === 'failed').length;
      const cls = ok === probes.length && failedComponents === 0 ? 'ok' : ok === 0 ? 'fail' : 'partial';
      if (cls === 'ok') allOk++;
      const height = probes.length ? Math.max(3, (ok / probes.length) * (H - 14)) : 3;
      const title = `${r.observedAt}: ${ok}/${probes.length} channels answered${failedComponents ? `, ${failedComponents} component(s) failed` : ''}`;
      return svg(
        'g',
        {},
        svg(
          'rect',
          { class: cls, x: i * bw + 1, y: H - 12 - height, width: Math.max(1, bw - 2), height },
          svg('title', { text: title }),
        ),
        svg('text', { x: i * bw + bw / 2 - 2, y: H - 2, text: cls === 'ok' ? '' : cls === 'fail' ? '✖' : '◆' }),
      );
    });
    const chart = svg(
      'svg',
      {
        class: 'chart',
        viewBox: `0 0 ${W} ${H}`,
        role: 'img',
        'aria-label': `Recent health: ${allOk} of ${list.length} polls fully healthy`,
        'data-testid': 'health-chart',
        preserveAspectRatio: 'none',
      },
      svg('line', { class: 'axis', x1: 0, y1: H - 12, x2: W, y2: H - 12 }),
      ...bars,
    );
    return h(
      'figure',
      { class: 'health' },
      chart,
      h('figcaption', {
        class: 'hint',
        text: `Last ${list.length} polls: ${allOk} fully healthy, ${list.length - allOk} with failures (✖ nothing answered, ◆ partly). Bar height = channels answering.`,
      }),
    );
  }

  // ---------- priority choice ----------
  function priorityChoice(name, selected) {
    const defs = window.HezoService.priorities;
    return h(
      'fieldset',
      { 'data-testid': 'priority-choice' },
      h('legend', { text: 'Priority (as the service text defines it)' }),
      defs.map((p) =>
        h(
          'div',
          { class: 'radio' },
          h('input', {
            type: 'radio',
            name,
            id: `${name}-${p.id}`,
            value: p.id,
            checked: p.id === selected,
            required: true,
          }),
          h(
            'label',
            { for: `${name}-${p.id}`, class: 'definitions' },
            h('strong', { text: p.name }),
            h('span', { text: ` - ${p.en} ` }),
            h('span', { class: 'pl', lang: 'pl', text: `„${p.pl}”` }),
          ),
        ),
      ),
    );
  }

  window.HezoParts = { clockList, nextClock, historyTable, evidenceList, jsonTable, healthChart, priorityChoice };
})();
