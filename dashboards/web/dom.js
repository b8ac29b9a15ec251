// DOM helpers shared by the pages (window.HezoDom). createElement/textContent only, never innerHTML.
(() => {
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = value;
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) el.append(child);
    return el;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === 'text') el.textContent = value;
      else el.setAttribute(key, String(value));
    }
    for (const child of children) if (child) el.append(child);
    return el;
  }

  /** A labelled form control: <label>text <control></label>. */
  function field(label, control, hint) {
    return h(
      'label',
      { class: 'field' },
      h('span', { class: 'field-label', text: label }),
      control,
      hint ? h('small', { class: 'hint', text: hint }) : null,
    );
  }

  function option(value, text, selected) {
    return h('option', { value, selected: Boolean(selected), text });
  }

  const STATE_WORD = { up: '● Up', degraded: '◆ Degraded', down: '▲ Down', unknown: '? Unknown' };
  const TICKET_STATE = {
    open: 'Open',
    acknowledged: 'Acknowledged',
    verifying: 'Verifying',
    accepted: 'Accepted',
    rejected: 'Rejected',
    replacement_shipped: 'Replacement shipped',
    replacement_delivered: 'Replacement delivered',
    faulty_returned: 'Faulty unit returned',
    closed: 'Closed',
  };

  window.HezoDom = { h, svg, field, option, STATE_WORD, TICKET_STATE };
})();
