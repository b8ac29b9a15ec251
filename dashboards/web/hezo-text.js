// Shared by the NOC wall, the desk and the portal (classic script, sets window.HezoText).
// Human words for the hub's machine codes, SLA clock states, and times in the customer's time zone.
// Plain browser JS, no build step; DOM is built with createElement/textContent only (no innerHTML).

(() => {
  // The words themselves come from the hub (/web/hezo-words.js, generated from hub/tickets/words.ts), so the
  // pages and the ticket titles never say different things.
  const WORDS = window.HezoWords || { channelName: {}, componentMissing: {}, stateReason: {} };
  const CHANNEL_NAME = WORDS.channelName;
  const COMPONENT_MISSING = WORDS.componentMissing;
  const REASON_TEXT = WORDS.stateReason;

  /** "REST, SNMP and TCP" */
  function joinWords(words) {
    if (words.length <= 1) return words.join('');
    return `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
  }

  /** Channels named in evidence lines such as `rest: timeout: ... (2 attempts)`. */
  function failedChannels(evidence) {
    const out = [];
    for (const line of evidence || []) {
      const m = /^(rest|snmp|tcp|ssh|usb):/.exec(line);
      if (m && !out.includes(CHANNEL_NAME[m[1]])) out.push(CHANNEL_NAME[m[1]]);
    }
    return out;
  }

  /** One problem code (`component-failed:camera`, `channel-failed:snmp`, `flapping`) in words. */
  function problemText(code, evidence) {
    const [base, detail] = String(code).split(':');
    if (base === 'component-failed' && detail) {
      const e70 = (evidence || []).some((l) => l.startsWith(`${detail} `) && /E70/.test(l));
      if (detail === 'camera' && e70) return 'E70 missing';
      return COMPONENT_MISSING[detail] || `${detail} failed`;
    }
    if (base === 'channel-failed' && detail) return `no answer on ${CHANNEL_NAME[detail] || detail}`;
    return REASON_TEXT[base] || String(base).replaceAll('-', ' ');
  }

  /**
   * Why a device is in its state, in words: from its problems (degraded), its reason, and its open ticket when
   * given (the summary's evidence lines name the channels; the automatic title says it in words once the summary
   * became the evidence summary).
   */
  function deviceReason(d, ticket) {
    if (!d) return '';
    if (d.reason === 'all-channels-failed') {
      const evidence = d.evidence || (ticket?.summary ? ticket.summary.split('\n') : []);
      const channels = failedChannels(evidence);
      if (channels.length) return `no answer on ${joinWords(channels)}`;
      const fromTitle = /: (no answer on [^:]+)$/.exec(ticket?.title || '');
      return fromTitle ? fromTitle[1] : 'no answer on any channel';
    }
    if (Array.isArray(d.problems) && d.problems.length > 0) {
      return [...new Set(d.problems.map((p) => problemText(p, d.evidence)))].join(', ');
    }
    if (d.reason === 'component-failed') {
      // Detector evidence: `camera "Poly Studio E70": failed (rest)`.
      const kinds = (d.evidence || []).flatMap((l) => /^([a-z-]+) ".*": failed/.exec(l)?.[1] ?? []);
      if (kinds.length > 0) return deviceReason({ ...d, problems: kinds.map((k) => `component-failed:${k}`) }, ticket);
    }
    if (!d.reason) return '';
    return problemText(d.reason, d.evidence);
  }

  // ---------- time ----------
  function formatSpan(ms) {
    const totalS = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(totalS / 86_400);
    const hh = Math.floor((totalS % 86_400) / 3600);
    const mm = Math.floor((totalS % 3600) / 60);
    const ss = totalS % 60;
    if (d > 0) return `${d}d ${hh}h`;
    if (hh > 0) return `${hh}h ${String(mm).padStart(2, '0')}m`;
    return `${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}`;
  }

  function formatLate(ms) {
    const totalM = Math.floor(ms / 60_000);
    if (totalM < 60) return `+${totalM}m`;
    const hh = Math.floor(totalM / 60);
    return hh < 48 ? `+${hh}h ${totalM % 60}m` : `+${Math.floor(hh / 24)}d ${hh % 24}h`;
  }

  /** `Mon 08:00` in `timeZone` (the customer's). */
  function weekdayTime(iso, timeZone) {
    const d = new Date(iso);
    const parts = new Intl.DateTimeFormat('en-GB', {
      timeZone: timeZone || undefined,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(d);
    const get = (t) => parts.find((p) => p.type === t)?.value || '';
    return `${get('weekday')} ${get('hour')}:${get('minute')}`;
  }

  /** `2026-11-30 14:05` in `timeZone`. */
  function dateTime(iso, timeZone) {
    if (!iso) return '-';
    return new Date(iso).toLocaleString('sv-SE', { timeZone: timeZone || undefined, hour12: false }).slice(0, 16);
  }

  /**
   * `2026-12` : the month of `ms` in `timeZone` (the contract's calendar: a report month is counted there, so near
   * a month's end it is not the browser's month).
   */
  function monthOf(ms, timeZone) {
    return dateTime(new Date(ms).toISOString(), timeZone).slice(0, 7);
  }

  // ---------- SLA clocks ----------
  const CLOCK_LABEL = { reaction: 'Reaction', update: 'Next update', delivery: 'Delivery', return: 'Return' };
  const CLOCK_DUE = { reaction: 'reactionDue', update: 'nextUpdateDue', delivery: 'deliveryDue', return: 'returnDue' };
  const RUNNING_IN = {
    reaction: ['open'],
    update: ['acknowledged', 'verifying'],
    delivery: ['accepted', 'replacement_shipped'],
    return: ['replacement_delivered'],
  };
  const ORDER = ['open', 'acknowledged', 'verifying', 'accepted', 'replacement_shipped', 'replacement_delivered'];
  const ENDED_AFTER = {
    reaction: 'acknowledged',
    update: 'accepted',
    delivery: 'replacement_delivered',
    return: 'faulty_returned',
  };
  const WARN_BEFORE_MS = 15 * 60_000;

  /**
   * Every SLA clock of a ticket with its status:
   * `waiting` (P2/P3 sent outside business hours: starts at the next opening), `running`, `warned`, `paused`
   * (8x5 clock outside business hours: resumes at the next opening), `breached`, `met`, or `not-started`.
   * `calendar` = {openNow, nextOpening} of the ticket's customer (GET /api/calendars), optional.
   */
  function clockStates(ticket, nowMs, calendar) {
    const sla = ticket.sla || {};
    const breached = sla.breached || [];
    const warned = sla.warned || [];
    const stateIdx = ORDER.indexOf(ticket.state);
    const closed = ticket.state === 'closed' || ticket.state === 'rejected' || ticket.state === 'faulty_returned';
    const out = [];
    for (const clock of Object.keys(CLOCK_DUE)) {
      const due = sla[CLOCK_DUE[clock]];
      const running =
        Boolean(due) &&
        ticket.coverage !== 'none' &&
        (Array.isArray(sla.running) ? sla.running.includes(clock) : RUNNING_IN[clock].includes(ticket.state));
      const remainingMs = due ? Date.parse(due) - nowMs : null;
      let status;
      if (breached.includes(clock) || (running && remainingMs <= 0)) status = 'breached';
      else if (running) {
        const business =
          ticket.priority !== 'P1' && (clock === 'reaction' || clock === 'update' || clock === 'delivery');
        if (clock === 'reaction' && sla.clockStart && Date.parse(sla.clockStart) > nowMs) status = 'waiting';
        else if (business && calendar && calendar.openNow === false) status = 'paused';
        else if (warned.includes(clock) || remainingMs <= WARN_BEFORE_MS) status = 'warned';
        else status = 'running';
      } else if (due && (closed || stateIdx > ORDER.indexOf(ENDED_AFTER[clock]) - 1)) status = 'met';
      else if (clock === 'delivery' && ticket.priority === 'P3') status = 'none';
      else status = 'not-started';
      out.push({ clock, label: CLOCK_LABEL[clock], due, running, status, remainingMs });
    }
    return out;
  }

  /** The words for one clock: `starts Mon 08:00`, `paused until Mon 08:00`, `BREACHED +12m`, `00:42`, ... */
  function clockText(c, ticket, calendar) {
    const tz = calendar?.timeZone;
    switch (c.status) {
      case 'waiting':
        return `starts ${weekdayTime(ticket.sla.clockStart, tz)}`;
      case 'paused':
        return `paused until ${weekdayTime(calendar.nextOpening, tz)} (due ${weekdayTime(c.due, tz)})`;
      case 'breached':
        return c.running && c.remainingMs !== null ? `BREACHED ${formatLate(-c.remainingMs)}` : 'BREACHED';
      case 'warned':
        return `◆ ${formatSpan(c.remainingMs)}`;
      case 'running':
        return formatSpan(c.remainingMs);
      case 'met':
        return '✓ met';
      case 'none':
        return 'none for P3 (SLA-13)';
      default:
        return 'not started';
    }
  }

  /** The title without its leading `<model> <serial>` (the room and serial are shown next to it anyway). */
  function shortTitle(t) {
    const prefix = `${t.model || ''} ${t.serial}`.trim();
    const title = String(t.title || '');
    if (title.startsWith(`${prefix}: `)) return title.slice(prefix.length + 2);
    if (title.startsWith(`${prefix} `)) return title.slice(prefix.length + 1);
    return title;
  }

  window.HezoText = {
    shortTitle,
    deviceReason,
    problemText,
    failedChannels,
    joinWords,
    formatSpan,
    formatLate,
    weekdayTime,
    dateTime,
    monthOf,
    clockStates,
    clockText,
    CLOCK_LABEL,
  };
})();
