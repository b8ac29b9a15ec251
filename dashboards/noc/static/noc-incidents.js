// Site incidents and device watches on the NOC wall (issue 18): read from the API every 10 s with the page's token
// (a read token is enough). Kept apart from noc.js: the live stream carries devices, tickets and site alerts; these
// two lists change rarely.
(() => {
  const TOKEN_KEY = 'hezo.noc.token';
  const REFRESH_MS = 10_000;

  function h(tag, attrs, children = []) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) {
      if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v);
    }
    for (const c of children) el.append(c);
    return el;
  }

  const hhmm = (iso) => (iso ? new Date(iso).toTimeString().slice(0, 5) : '');

  async function get(path, token) {
    const res = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json();
  }

  async function refresh() {
    // noc.js moves the token from the URL into session storage when the page opens
    const token = sessionStorage.getItem(TOKEN_KEY);
    const box = document.getElementById('incidents');
    if (!token || !box) return;
    try {
      const [incidents, watches] = await Promise.all([
        get('/api/site-incidents?state=open', token),
        get('/api/watches?state=active', token),
      ]);
      box.replaceChildren(
        ...incidents.map((i) =>
          h('div', {
            class: `site-incident site-incident-${i.state}`,
            'data-testid': 'site-incident',
            'data-site': i.site,
            text: `⚡ SITE INCIDENT ${i.id} ${i.site}${i.customer ? ` (${i.customer})` : ''}: ${i.state.toUpperCase()} since ${hhmm(
              i.openedAt,
            )}${i.acknowledgedBy ? ` - acknowledged by ${i.acknowledgedBy}` : ''} - ${i.serials.length} device(s)`,
          }),
        ),
        ...watches.map((w) =>
          h('div', {
            class: 'device-watch',
            'data-testid': 'device-watch',
            'data-serial': w.serial,
            text: `👁 WATCH ${w.serial}: ${w.rule} - ${w.detail}`,
          }),
        ),
      );
    } catch {
      // the stream banner of noc.js already says when the hub is unreachable
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    void refresh();
    setInterval(() => void refresh(), REFRESH_MS);
  });
})();
