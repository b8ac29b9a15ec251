// The hub's live stream (/ws) for the desk and the portal (window.HezoLive): a snapshot, then deltas with seq;
// a gap asks for a resync; reconnects with backoff; keepalive pings. `onChange(model)` after every change.
(() => {
  function connectLive({ url, onChange, onStatus }) {
    const model = { devices: new Map(), tickets: new Map(), siteAlerts: new Map(), seq: -1, offsetMs: 0 };
    const conn = { ws: null, attempt: 0, awaitingSnapshot: true, lastMessageAt: 0, timer: 0 };

    function open() {
      clearTimeout(conn.timer);
      const ws = new WebSocket(url());
      conn.ws = ws;
      conn.awaitingSnapshot = true;
      ws.onmessage = (ev) => onMessage(ev.data);
      ws.onclose = (ev) => {
        if (conn.ws !== ws) return;
        conn.ws = null;
        onStatus(false);
        if (ev.code === 4401 || ev.code === 1008) return window.HezoApi.expired();
        const delay = Math.min(15_000, 500 * 2 ** conn.attempt) * (0.8 + Math.random() * 0.4);
        conn.attempt += 1;
        conn.timer = setTimeout(open, delay);
      };
    }

    function onMessage(raw) {
      conn.lastMessageAt = Date.now();
      let msg;
      try {
        msg = JSON.parse(raw);
      } catch {
        return;
      }
      if (msg.type === 'snapshot') {
        model.offsetMs = Date.parse(msg.at) - Date.now();
        model.seq = msg.seq;
        model.devices = new Map(msg.devices.map((d) => [d.serial, d]));
        model.tickets = new Map(msg.tickets.map((t) => [t.id, t]));
        model.siteAlerts = new Map((msg.siteAlerts || []).map((a) => [`${a.site}/${a.agentId}`, a]));
        conn.awaitingSnapshot = false;
        conn.attempt = 0;
        onStatus(true);
        onChange(model, { type: 'snapshot' });
        return;
      }
      if (typeof msg.seq !== 'number' || conn.awaitingSnapshot || msg.seq <= model.seq) return;
      if (msg.seq !== model.seq + 1) {
        conn.awaitingSnapshot = true;
        conn.ws.send(JSON.stringify({ type: 'resync' }));
        return;
      }
      model.seq = msg.seq;
      const d = msg.data;
      if (msg.type === 'device') model.devices.set(d.serial, d);
      else if (msg.type === 'ticket') {
        if (d.state === 'closed' || d.state === 'rejected') model.tickets.delete(d.id);
        else model.tickets.set(d.id, d);
      } else if (msg.type === 'sla') {
        const t = model.tickets.get(d.ticketId);
        if (t) {
          const key = d.level === 'breach' ? 'breached' : 'warned';
          const list = t.sla[key] || [];
          if (!list.includes(d.clock)) t.sla[key] = [...list, d.clock];
        }
      } else if (msg.type === 'site-alert') {
        if (d.status === 'raised') model.siteAlerts.set(`${d.site}/${d.agentId}`, d);
        else model.siteAlerts.delete(`${d.site}/${d.agentId}`);
      }
      onChange(model, msg);
    }

    setInterval(() => {
      if (conn.ws && conn.ws.readyState === WebSocket.OPEN) {
        if (Date.now() - conn.lastMessageAt > 45_000) conn.ws.close(4000, 'silent stream');
        else conn.ws.send(JSON.stringify({ type: 'ping' }));
      }
    }, 20_000);
    open();
    return { model, now: () => Date.now() + model.offsetMs };
  }

  window.HezoLive = { connectLive };
})();
