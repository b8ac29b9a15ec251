// The ONE place the pages talk to the hub's HTTP API and learn who is signed in (window.HezoApi).
// Sessions (issue 14 contract): POST /api/session {user, password} -> {csrfToken, user:{name, role, customer?}} +
// HttpOnly cookie; GET /api/session -> same or 401; DELETE /api/session; cookie writes send x-csrf-token;
// 401 {code:'UNAUTHENTICATED'} when expired. A personal API token kept in sessionStorage (from `?token=` in the URL,
// as on the NOC wall) works too: the hub says whose it is (GET /api/session), the page never decides that itself.
(() => {
  const TOKEN_KEY = 'hezo.token';
  const CSRF_KEY = 'hezo.csrf';
  const HOME = { admin: '/desk/', engineer: '/desk/', customer: '/portal/', wall: '/noc/' };

  class ApiError extends Error {
    constructor(status, message, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function takeFromUrl() {
    const url = new URL(location.href);
    let changed = false;
    for (const [param, key] of [['token', TOKEN_KEY]]) {
      const value = url.searchParams.get(param);
      if (value) {
        sessionStorage.setItem(key, value);
        url.searchParams.delete(param);
        changed = true;
      }
    }
    if (changed) history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  takeFromUrl();

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    csrf: sessionStorage.getItem(CSRF_KEY),
    user: null,
  };

  function headers(method, hasBody) {
    const h = {};
    if (state.token) h.Authorization = `Bearer ${state.token}`;
    else if (method !== 'GET' && method !== 'HEAD' && state.csrf) h['x-csrf-token'] = state.csrf;
    if (hasBody) h['content-type'] = 'application/json';
    return h;
  }

  /** The session is gone: say so and go back to sign-in (which shows "your session expired"). */
  function expired() {
    sessionStorage.removeItem(CSRF_KEY);
    sessionStorage.removeItem(TOKEN_KEY);
    const next = location.pathname + location.hash;
    location.assign(`/signin?expired=1&next=${encodeURIComponent(next)}`);
  }

  async function request(method, path, body, options = {}) {
    const res = await fetch(path, {
      method,
      headers: headers(method, body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    if (res.status === 401 && !options.quiet401) {
      expired();
      throw new ApiError(401, 'session expired', 'UNAUTHENTICATED');
    }
    if (!res.ok) {
      let message = `HTTP ${res.status}`;
      let code;
      try {
        const j = await res.json();
        message = j.error || message;
        code = j.code;
      } catch {
        // not JSON
      }
      throw new ApiError(res.status, message, code);
    }
    if (options.raw) return res;
    return res.status === 204 ? null : res.json();
  }

  /** Who is signed in: {name, role, customer?}, or null. */
  async function whoAmI() {
    try {
      const body = await request('GET', '/api/session', undefined, { quiet401: true });
      if (body?.csrfToken) {
        state.csrf = body.csrfToken;
        sessionStorage.setItem(CSRF_KEY, body.csrfToken);
      }
      if (body?.user) return body.user;
    } catch {
      // not signed in (401)
    }
    return null;
  }

  function homeOf(user) {
    return HOME[user?.role] || '/signin';
  }

  /** The signed-in user if their role may see this page; else off to sign-in or to their own page. */
  async function requireUser(roles) {
    const user = await whoAmI();
    if (!user && (state.token || state.csrf)) {
      // This tab had a session (or a token) that the hub no longer takes: expired, ended or revoked.
      expired();
      return null;
    }
    if (!user) {
      location.assign(`/signin?next=${encodeURIComponent(location.pathname + location.hash)}`);
      return null;
    }
    if (!roles.includes(user.role)) {
      location.assign(homeOf(user));
      return null;
    }
    state.user = user;
    return user;
  }

  async function signIn(user, password) {
    const body = await request('POST', '/api/session', { user, password }, { quiet401: true });
    state.csrf = body.csrfToken;
    sessionStorage.setItem(CSRF_KEY, body.csrfToken);
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    return body.user;
  }

  async function signOut() {
    if (!state.token) {
      try {
        await request('DELETE', '/api/session', undefined, { quiet401: true });
      } catch {
        // already gone
      }
    }
    for (const key of [TOKEN_KEY, CSRF_KEY]) sessionStorage.removeItem(key);
    location.assign('/signin?signedOut=1');
  }

  /** The websocket URL: the cookie goes along by itself; a token goes in the query (browsers cannot set headers). */
  function wsUrl() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/ws${state.token ? `?token=${encodeURIComponent(state.token)}` : ''}`;
  }

  /** Fetch with credentials and save as a file (a plain link cannot send a Bearer token). */
  async function download(path, fileName) {
    const res = await request('GET', path, undefined, { raw: true });
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = fileName;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  window.HezoApi = {
    ApiError,
    get: (path) => request('GET', path),
    text: async (path) => (await request('GET', path, undefined, { raw: true })).text(),
    blob: async (path) => (await request('GET', path, undefined, { raw: true })).blob(),
    post: (path, body) => request('POST', path, body ?? {}),
    del: (path) => request('DELETE', path),
    download,
    whoAmI,
    requireUser,
    homeOf,
    signIn,
    signOut,
    wsUrl,
    expired,
    get user() {
      return state.user;
    },
    get usesToken() {
      return Boolean(state.token);
    },
  };
})();
