// HEZO+ NOC wall: which hub nodes the page may stream from, and which one it streams from now (issue 16).
// The hub that served the page comes first; `?hubs=http://h1:8080,http://h2:8080` adds the other nodes (origins
// only: the page's own scripts use absolute paths). When the stream from one node ends, the page moves to the next
// node of the list, backing off per round over the whole list. The websocket carries the wall's token as `?token=`,
// so it works against another origin too (no cookie, no CORS); the node's id comes in each snapshot (`node`).
// Plain browser JS, no build step; exposes window.HezoNocHubs.

(() => {
  const MIN_RETRY_MS = 500;
  const MAX_RETRY_MS = 15_000;

  /**
   * The hubs to try, in order: this page's origin, then each valid `?hubs=` entry (http/https origins without
   * credentials; on an https page only https, since a browser refuses ws:// there). `rejected`: entries ignored.
   */
  function hubsFrom(href) {
    const page = new URL(href);
    const hubs = [page.origin];
    const rejected = [];
    for (const part of (page.searchParams.get('hubs') || '').split(',')) {
      const text = part.trim();
      if (text === '') continue;
      let url;
      try {
        url = new URL(text);
      } catch {
        rejected.push(text);
        continue;
      }
      const isWeb = url.protocol === 'https:' || (url.protocol === 'http:' && page.protocol === 'http:');
      if (!isWeb || url.username !== '' || url.password !== '') {
        rejected.push(text);
        continue;
      }
      if (!hubs.includes(url.origin)) hubs.push(url.origin);
    }
    return { hubs, rejected };
  }

  /** The stream URL of one hub (`ws(s)://host:port/ws?token=`). */
  function streamUrl(origin, token) {
    const url = new URL(origin);
    const proto = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${url.host}/ws?token=${encodeURIComponent(token)}`;
  }

  /**
   * Delay before attempt `failures` (0-based, consecutive failures since the last snapshot) over `count` hubs:
   * every hub of a round is tried after the same delay, which doubles per round (0.5 s .. 15 s), jittered +-20 %.
   */
  function retryDelayMs(failures, count, random = Math.random) {
    const round = Math.floor(failures / Math.max(1, count));
    return Math.min(MAX_RETRY_MS, MIN_RETRY_MS * 2 ** round) * (0.8 + random() * 0.4);
  }

  /**
   * Keepalive ping interval, silence limit (no frame, not even a pong: the stream is dropped) and how long a new
   * connection may take to send its snapshot. With several hubs they are short: another node is waiting.
   */
  function timing(count) {
    return count > 1
      ? { keepaliveMs: 5000, silenceLimitMs: 15_000, snapshotWaitMs: 10_000 }
      : { keepaliveMs: 20_000, silenceLimitMs: 45_000, snapshotWaitMs: 30_000 };
  }

  /** What the header says about the node: `node hub-b · moved from hub-a 06:41:02`. */
  function showNode(el, { node, origin, movedFrom }) {
    const moved = movedFrom
      ? ` · moved from ${movedFrom.node} ${new Date(movedFrom.at).toLocaleTimeString('en-GB', { hour12: false })}`
      : '';
    el.textContent = `node ${node}${moved}`;
    el.title = origin;
    el.hidden = false;
    el.dataset.node = node;
    el.dataset.hub = origin;
    if (movedFrom) el.dataset.movedFrom = movedFrom.node;
    else delete el.dataset.movedFrom;
    document.body.dataset.node = node;
  }

  /** The node's name for the header: the snapshot's `node`, else (an older hub) the hub's host:port. */
  function nodeName(snapshotNode, origin) {
    return typeof snapshotNode === 'string' && snapshotNode !== '' ? snapshotNode : new URL(origin).host;
  }

  window.HezoNocHubs = { hubsFrom, streamUrl, retryDelayMs, timing, showNode, nodeName };
})();
