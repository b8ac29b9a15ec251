// The printable monthly SLA report (GET /api/reports/sla JSON) for one customer and month.
(() => {
  const api = window.HezoApi;
  const { h } = window.HezoDom;
  const T = window.HezoText;
  const params = new URLSearchParams(location.search);
  const fmt = (v, unit = '') => (v === null || v === undefined ? '-' : `${v}${unit}`);

  function table(caption, head, rows, testid) {
    return h('div', { class: 'table-scroll' }, tableOnly(caption, head, rows, testid));
  }

  function tableOnly(caption, head, rows, testid) {
    return h(
      'table',
      { 'data-testid': testid },
      h('caption', { text: caption }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((c) => h('th', { scope: 'col', text: c })),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            r.map((c) => h('td', { text: String(c) })),
          ),
        ),
      ),
    );
  }

  function contractSection(c) {
    return h(
      'section',
      { class: 'pane', 'data-testid': 'report-contract', 'data-contract': c.contract || 'none' },
      h('h2', {
        text: c.contract ? `Contract ${c.contract} (${c.start} - ${c.end})` : 'Tickets without an active contract',
      }),
      table(
        'Tickets by priority',
        [
          'Priority',
          'Tickets',
          'Reaction target',
          'Reactions met',
          'Missed',
          'Pending',
          'Average reaction',
          'Update target',
          'Updates',
          'Late updates',
          'Breaches',
        ],
        c.priorities.map((p) => [
          p.priority,
          p.tickets,
          `${p.reactionTargetMin} min`,
          p.reactionMet,
          p.reactionMissed,
          p.reactionPending,
          fmt(p.reactionAvgMin, ' min'),
          `${p.updateTargetMin} min`,
          p.updates,
          p.updatesLate,
          p.breaches,
        ]),
        'report-priorities',
      ),
      table(
        'Tickets',
        ['Ticket', 'Room', 'Priority', 'Channel', 'State', 'Reaction', 'Met', 'Updates (late)', 'Breached'],
        c.tickets.map((t) => [
          t.id,
          `${t.room} (${t.serial})`,
          t.priority,
          t.channel,
          t.state,
          fmt(t.reactionMin, ' min'),
          t.reactionMet === null ? 'pending' : t.reactionMet ? '✓ yes' : '✖ no',
          `${t.updates} (${t.updatesLate})`,
          t.breached.join(', ') || '-',
        ]),
        'report-tickets',
      ),
      c.rooms.length
        ? table(
            'Availability of each room (time not down / time with a known state)',
            ['Room', 'Serial', 'Site', 'Availability', 'Down', 'Not watched'],
            c.rooms.map((r) => [
              r.room,
              r.serial,
              r.site,
              fmt(r.availabilityPct, ' %'),
              `${r.downMin} min`,
              `${r.unknownMin} min`,
            ]),
            'report-rooms',
          )
        : null,
    );
  }

  async function start() {
    document.getElementById('print').addEventListener('click', () => window.print());
    document.getElementById('back').addEventListener('click', () => history.back());
    const user = await api.requireUser(['admin', 'engineer', 'customer']);
    if (!user) return;
    const customer = user.role === 'customer' ? user.customer : params.get('customer');
    const month = params.get('month');
    const main = document.getElementById('report');
    try {
      const r = await api.get(
        `/api/reports/sla?customer=${encodeURIComponent(customer)}&month=${encodeURIComponent(month)}`,
      );
      main.replaceChildren(
        h('h2', {
          'data-testid': 'report-title',
          text: `${r.customerName} - ${r.month}${r.complete ? '' : ' (month in progress)'}`,
        }),
        h('p', {
          class: 'hint',
          text: `Period ${T.dateTime(r.from, r.timeZone)} - ${T.dateTime(r.to, r.timeZone)} (${r.timeZone}). Reaction and update times: P1 in elapsed time (24x7), P2/P3 in business hours (8x5).`,
        }),
        ...r.contracts.map(contractSection),
      );
    } catch (err) {
      main.replaceChildren(h('p', { class: 'error', role: 'alert', text: err.message }));
    }
  }

  void start();
})();
