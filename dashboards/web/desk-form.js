// Service desk: a ticket taken by phone or e-mail (window.HezoDeskForm). The engineer picks the device by room or
// serial; the contract number the caller gives is checked against the device's contract before sending (the
// service text: a phone report needs the serial and the contract number), and again by the hub (SLA-15).
(() => {
  const api = window.HezoApi;
  const { h, field, option } = window.HezoDom;
  const P = window.HezoParts;

  function show() {
    const desk = window.HezoDesk;
    const devices = [...(desk.live?.model.devices.values() || [])].sort((a, b) =>
      (a.customer + (a.name || a.serial)).localeCompare(b.customer + (b.name || b.serial)),
    );
    const serial = h(
      'select',
      { id: 'nt-serial', 'data-testid': 'nt-serial', required: true },
      option('', '- pick the device -'),
      devices.map((d) => option(d.serial, `${d.name || d.serial} · ${d.serial} · ${d.customer}/${d.site}`)),
    );
    const contract = h('input', {
      id: 'nt-contract',
      'data-testid': 'nt-contract',
      required: true,
      autocomplete: 'off',
    });
    const contractCheck = h('small', {
      id: 'nt-contract-check',
      'data-testid': 'nt-contract-check',
      'aria-live': 'polite',
    });
    const channel = h(
      'select',
      { id: 'nt-channel', 'data-testid': 'nt-channel' },
      option('phone', 'phone', true),
      option('email', 'e-mail'),
    );
    const reporter = h('input', {
      id: 'nt-reporter',
      'data-testid': 'nt-reporter',
      required: true,
      autocomplete: 'off',
    });
    const description = h('textarea', { id: 'nt-description', 'data-testid': 'nt-description', required: true });
    const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'nt-error', hidden: true });

    /** '' when the number matches the device's contract, else what is wrong. */
    function checkContract() {
      const d = desk.live?.model.devices.get(serial.value);
      const given = contract.value.trim();
      let problem = '';
      if (!d) problem = 'Pick the device first.';
      else if (!given) problem = 'Ask for the contract number.';
      else if (!d.contract) problem = `No contract is known for ${d.serial}.`;
      else if (given !== d.contract) problem = `${given} is not the contract of ${d.serial}.`;
      else if (d.coverage === 'none') problem = `Contract ${given} is not active today: no SLA applies.`;
      contractCheck.textContent = problem ? `✖ ${problem}` : `✓ ${given} covers ${d.name || d.serial}`;
      contractCheck.className = problem ? 'error' : 'hint';
      contract.setAttribute('aria-invalid', problem ? 'true' : 'false');
      return problem;
    }
    serial.addEventListener('change', checkContract);
    contract.addEventListener('input', checkContract);

    const form = h(
      'form',
      {
        'data-testid': 'new-ticket-form',
        'aria-labelledby': 'nt-title',
        onsubmit: async (e) => {
          e.preventDefault();
          error.hidden = true;
          const problem = checkContract();
          if (problem) {
            error.textContent = problem;
            error.hidden = false;
            contract.focus();
            return;
          }
          const priority = form.querySelector('input[name="nt-priority"]:checked')?.value;
          try {
            const t = await api.post('/api/tickets', {
              channel: channel.value,
              serial: serial.value,
              contract: contract.value.trim(),
              priority,
              reporter: reporter.value.trim(),
              description: description.value.trim(),
            });
            location.hash = `#/ticket/${encodeURIComponent(t.id)}`;
            if (t.linkedTo) sessionStorage.setItem('hezo.desk.linked', t.id);
          } catch (err) {
            error.textContent = err.message;
            error.hidden = false;
          }
        },
      },
      h('h2', { id: 'nt-title', text: 'New ticket by phone or e-mail' }),
      field('Channel', channel),
      field('Device (room · serial · customer/site)', serial),
      field('Contract number given by the caller', contract),
      contractCheck,
      P.priorityChoice('nt-priority', 'P2'),
      field('Reporter (name, phone or e-mail)', reporter),
      field('What is wrong', description),
      error,
      h(
        'div',
        { class: 'row-actions' },
        h('button', { type: 'submit', 'data-testid': 'nt-submit', text: 'Open ticket' }),
        h('a', { class: 'button secondary', href: '#', text: 'Cancel' }),
      ),
    );
    document.getElementById('work-pane').replaceChildren(form);
    serial.focus();
  }

  window.HezoDeskForm = { show };
})();
