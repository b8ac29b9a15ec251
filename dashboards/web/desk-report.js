// Service desk: the monthly SLA report of any customer (window.HezoDeskReport, route #/report): CSV download or the
// printable page.
(() => {
  const api = window.HezoApi;
  const { h, field, option } = window.HezoDom;

  function show() {
    const desk = window.HezoDesk;
    const customer = h(
      'select',
      { id: 'rp-customer', 'data-testid': 'rp-customer', required: true },
      desk.customers.map((c) => option(c.customer, c.name)),
    );
    const month = h('input', {
      type: 'month',
      id: 'rp-month',
      'data-testid': 'rp-month',
      required: true,
      value: window.HezoText.monthOf(desk.now(), desk.calendarOf(customer.value)?.timeZone),
    });
    const out = h('p', { role: 'status' });
    const q = () => `customer=${encodeURIComponent(customer.value)}&month=${encodeURIComponent(month.value)}`;
    document.getElementById('work-pane').replaceChildren(
      h(
        'form',
        { 'aria-labelledby': 'rp-title', onsubmit: (e) => e.preventDefault() },
        h('h2', { id: 'rp-title', text: 'Monthly SLA report' }),
        field('Customer', customer),
        field('Month', month),
        h(
          'div',
          { class: 'row-actions' },
          h('button', {
            type: 'button',
            'data-testid': 'rp-csv',
            text: 'Download CSV',
            onclick: async () => {
              try {
                await api.download(`/api/reports/sla?${q()}&format=csv`, `sla-${customer.value}-${month.value}.csv`);
              } catch (err) {
                out.textContent = `✖ ${err.message}`;
              }
            },
          }),
          h('button', {
            type: 'button',
            class: 'secondary',
            'data-testid': 'rp-print',
            text: 'Printable report',
            onclick: () => location.assign(`/web/report.html?${q()}`),
          }),
        ),
        out,
      ),
    );
    customer.focus();
  }

  window.HezoDeskReport = { show };
})();
