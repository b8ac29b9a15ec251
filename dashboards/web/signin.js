// Sign-in page: a signed-in person goes straight on to their page; `?expired=1` says the session expired.
(() => {
  const api = window.HezoApi;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const next = params.get('next');
  /** Only a path on this site (never an absolute URL from the query). */
  const safeNext = (user) =>
    next && /^\/(desk|portal|noc)\//.test(next) && next.startsWith(api.homeOf(user)) ? next : api.homeOf(user);

  const message = $('signin-message');
  if (params.get('expired')) {
    message.textContent = 'Your session expired. Sign in again to continue.';
    message.hidden = false;
  } else if (params.get('signedOut')) {
    message.textContent = 'You are signed out.';
    message.hidden = false;
  }

  void api.whoAmI().then((user) => {
    if (user && !params.get('signedOut') && !params.get('expired')) location.assign(safeNext(user));
  });

  $('signin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = $('signin-error');
    error.hidden = true;
    $('signin-submit').disabled = true;
    try {
      const user = await api.signIn($('signin-user').value.trim(), $('signin-password').value);
      location.assign(safeNext(user));
    } catch (err) {
      error.textContent =
        err.status === 401 || err.status === 403
          ? 'User name or password is wrong.'
          : err.status === 404
            ? 'This hub has no sign-in yet: open the link with a token that the administrator gave you.'
            : `Sign-in failed: ${err.message}`;
      error.hidden = false;
      $('signin-password').focus();
    } finally {
      $('signin-submit').disabled = false;
    }
  });
  $('signin-user').focus();
})();
