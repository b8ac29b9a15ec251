// Customer portal forms (window.HezoPortalForms): raise a ticket for a covered room (the service text's P1/P2/P3
// definitions beside the choice), and the monthly SLA report (CSV download, printable page).
(() => {
  const api = window.HezoApi;
  const { h, field, option } = window.HezoDom;
  const P = window.HezoParts;
  let portal = null;

  function covered() {
    return portal.devices().filter((d) => d.coverage === 'active' && d.contract);
  }

  function refreshDevices() {
    const sel = document.getElementById('raise-serial');
    if (!sel) return;
    const value = sel.value;
    const list = covered().sort((a, b) => (a.name || a.serial).localeCompare(b.name || b.serial));
    const key = list.map((d) => d.serial).join(',');
    if (sel.dataset.key === key) return;
    sel.dataset.key = key;
    sel.replaceChildren(
      option('', '- pick the room -'),
      ...list.map((d) => option(d.serial, `${d.name || d.serial} (${d.serial})`, d.serial === value)),
    );
  }

  function raiseForm() {
    const serial = h('select', { id: 'raise-serial', 'data-testid': 'raise-serial', required: true });
    const description = h('textarea', { id: 'raise-description', 'data-testid': 'raise-description', required: true });
    const reporter = h('input', {
      id: 'raise-reporter',
      'data-testid': 'raise-reporter',
      required: true,
      value: portal.user.name === 'token' ? '' : portal.user.name,
      autocomplete: 'name',
    });
    const out = h('p', { id: 'raise-result', role: 'status', 'data-testid': 'raise-result' });
    const form = h(
      'form',
      {
        'data-testid': 'raise-form',
        onsubmit: async (e) => {
          e.preventDefault();
          const d = portal.live.model.devices.get(serial.value);
          const priority = form.querySelector('input[name="raise-priority"]:checked')?.value;
          if (!d) {
            out.textContent = '✖ Pick the room first.';
            return;
          }
          try {
            const t = await api.post('/api/tickets', {
              channel: 'portal',
              serial: d.serial,
              contract: d.contract,
              priority,
              reporter: reporter.value.trim(),
              description: description.value.trim(),
            });
            out.className = 'ok-note';
            out.textContent = t.linkedTo
              ? `✓ Added to the ticket ${t.id} already open for this room.`
              : `✓ Ticket ${t.id} raised.`;
            out.dataset.ticketId = t.id;
            description.value = '';
          } catch (err) {
            out.className = 'error';
            out.textContent = `✖ ${err.message}`;
          }
        },
      },
      field('Room (only rooms your contract covers)', serial),
      P.priorityChoice('raise-priority', 'P3'),
      field('What is wrong', description),
      field('Your name and phone', reporter),
      h('button', { type: 'submit', 'data-testid': 'raise-submit', text: 'Send' }),
      out,
    );
    return form;
  }

  function reportForm() {
    const nowMs = portal.live ? portal.live.now() : Date.now();
    const month = h('input', {
      type: 'month',
      id: 'report-month',
      'data-testid': 'report-month',
      value: window.HezoText.monthOf(nowMs, portal.calendar?.timeZone),
      required: true,
    });
    const q = () => `customer=${encodeURIComponent(portal.customer)}&month=${encodeURIComponent(month.value)}`;
    const out = h('span', { role: 'status' });
    return h(
      'div',
      {},
      field('Month', month),
      h(
        'div',
        { class: 'row-actions' },
        h('button', {
          type: 'button',
          'data-testid': 'report-csv',
          text: 'Download CSV',
          onclick: async () => {
            try {
              await api.download(`/api/reports/sla?${q()}&format=csv`, `sla-${portal.customer}-${month.value}.csv`);
            } catch (err) {
              out.textContent = `✖ ${err.message}`;
            }
          },
        }),
        h('button', {
          type: 'button',
          class: 'secondary',
          'data-testid': 'report-print',
          text: 'Printable report',
          onclick: () => location.assign(`/web/report.html?${q()}`),
        }),
        out,
      ),
    );
  }

  function init(p) {
    portal = p;
    document.getElementById('raise').replaceChildren(raiseForm());
    document.getElementById('report').replaceChildren(reportForm());
    refreshDevices();
  }

  window.HezoPortalForms = { init, refreshDevices };
})();
