// The reference server's page. It uses browser mode: every call that
// issues tokens sends "Auth-Mode: cookie", so the refresh token lives in an
// HttpOnly cookie that this script can never read, and the access token
// lives in a variable of this script only (never in localStorage).
"use strict";

const api = new URLSearchParams(location.search).get("api") || "/api/v2/auth";
let accessToken = null;
let refreshing = null;

const $ = (id) => document.getElementById(id);

function show(signedIn) {
  $("signed-in").hidden = !signedIn;
  $("signed-out").hidden = signedIn;
  if (!signedIn) {
    $("mfa-enroll").hidden = true;
    $("mfa-codes").hidden = true;
    $("mfa-code-list").textContent = "";
    $("mfa-secret").textContent = "";
    // Leave nothing of the account behind in the page.
    for (const id of ["me-name", "me-email", "me-org", "me-role", "me-created"]) $(id).textContent = "";
    document.querySelector("#sessions tbody").textContent = "";
  }
}

function status(text, isError) {
  const s = $("status");
  s.textContent = text || "";
  s.className = isError ? "error" : "";
}

async function call(method, path, body, opts = {}) {
  const headers = { "Auth-Mode": "cookie" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.auth && accessToken) headers["Authorization"] = "Bearer " + accessToken;
  const res = await fetch(api + path, {
    method,
    headers,
    credentials: "include",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch (_) { /* empty body */ }
  return { status: res.status, data };
}

// refresh spends the refresh cookie for a new access token. Concurrent
// callers in one page share one request; several tabs may refresh at the
// same moment, which the server's reuse window absorbs.
function refresh() {
  if (!refreshing) {
    refreshing = call("POST", "/refresh", {}).then((r) => {
      refreshing = null;
      accessToken = r.status === 200 ? r.data.accessToken : null;
      return r.status === 200;
    }, (e) => { refreshing = null; throw e; });
  }
  return refreshing;
}

// authed calls an authenticated route, refreshing once on an expired or
// missing access token.
async function authed(method, path, body) {
  if (!accessToken) await refresh();
  let r = await call(method, path, body, { auth: true });
  if (r.status === 401 && await refresh()) {
    r = await call(method, path, body, { auth: true });
  }
  return r;
}

function errorText(r) {
  const e = r.data && r.data.error;
  if (!e) return "HTTP " + r.status;
  const fields = e.fields ? " (" + Object.entries(e.fields).map(([k, v]) => k + " " + v).join(", ") + ")" : "";
  return e.message + fields;
}

async function loadAccount() {
  const me = await authed("GET", "/me");
  if (me.status !== 200) { accessToken = null; show(false); return false; }
  const u = me.data.user;
  $("me-name").textContent = u.name;
  $("me-email").textContent = u.email;
  $("me-org").textContent = u.organizationId;
  $("me-role").textContent = u.role;
  $("me-created").textContent = new Date(u.createdAt).toLocaleString();
  show(true);
  await loadMFA();
  if (window.passkeys) await window.passkeys.load();
  await loadSessions();
  if (typeof loadOrgs === "function") await loadOrgs(u);
  return true;
}

// loadMFA shows whether two-step sign-in is on, and the way to set it up.
async function loadMFA() {
  const r = await authed("GET", "/mfa");
  $("mfa-card").hidden = r.status === 501;
  if (r.status !== 200) return;
  const on = r.data.factors.includes("totp");
  const passkey = r.data.factors.includes("webauthn");
  $("mfa-status").textContent = on
    ? "On: authenticator app" + (passkey ? " and passkey" : "") + ", " + r.data.recoveryCodesLeft + " recovery codes left."
    : passkey
      ? "On: passkey. You can add an authenticator app as another second step."
      : "Off. Add an authenticator app so that a password alone is not enough.";
  $("mfa-start").hidden = on;
}

async function loadSessions() {
  const r = await authed("GET", "/sessions");
  const body = document.querySelector("#sessions tbody");
  body.textContent = "";
  if (r.status !== 200) {
    const tr = body.insertRow();
    tr.insertCell().textContent = r.status === 501 ? "This server's store cannot list sessions." : errorText(r);
    return;
  }
  for (const s of r.data.sessions) {
    const tr = body.insertRow();
    tr.className = "session" + (s.current ? " current" : "");
    tr.dataset.id = s.id;
    const ua = tr.insertCell();
    ua.className = "ua";
    ua.textContent = s.userAgent || "unknown device";
    if (s.current) {
      const b = document.createElement("span");
      b.className = "badge this-device";
      b.textContent = "this device";
      ua.appendChild(b);
    }
    tr.insertCell().textContent = s.ipAddress;
    tr.insertCell().textContent = new Date(s.createdAt).toLocaleString();
    tr.insertCell().textContent = new Date(s.lastUsedAt).toLocaleString();
    const end = tr.insertCell();
    if (!s.current) {
      const btn = document.createElement("button");
      btn.className = "link end-session";
      btn.textContent = "End";
      btn.onclick = async () => {
        const d = await authed("DELETE", "/sessions/" + encodeURIComponent(s.id));
        status(d.status === 200 ? "Session ended." : errorText(d), d.status !== 200);
        await loadSessions();
      };
      end.appendChild(btn);
    }
  }
}

// ticket is the MFA ticket of a login that needs a second step.
let ticket = null;

async function signedInWith(r, okStatus) {
  const e = r.data && r.data.error;
  if (r.status === 401 && e && e.code === "MFA_REQUIRED") {
    ticket = e.ticket;
    $("mfa-passkey-btn").hidden = !(e.methods || []).includes("webauthn");
    $("mfa-form").hidden = false;
    $("login-form").hidden = true;
    $("register-form").hidden = true;
    status((e.methods || []).includes("totp") ? "Enter the code from your authenticator app." : "Use your passkey to finish signing in.");
    $("mfa-code").focus();
    return;
  }
  if (r.status !== okStatus) { status(errorText(r), true); return; }
  ticket = null;
  $("mfa-form").hidden = true;
  $("mfa-form").reset();
  $("login-form").hidden = false;
  $("register-form").hidden = false;
  accessToken = r.data.accessToken;
  status("Signed in as " + r.data.user.email + ".");
  await loadAccount();
}

// guarded reports a failed call (a network error, or a cross-origin call
// the browser refused) in the status line instead of dropping it.
function guarded(fn) {
  return async (ev) => {
    if (ev) ev.preventDefault();
    try {
      await fn();
    } catch (e) {
      status("Could not reach the server: " + e.message, true);
    }
  };
}

$("login-form").addEventListener("submit", guarded(async () => {
  const r = await call("POST", "/login", { email: $("login-email").value, password: $("login-password").value });
  await signedInWith(r, 200);
}));

$("register-form").addEventListener("submit", guarded(async () => {
  const r = await call("POST", "/register", {
    name: $("register-name").value, email: $("register-email").value, password: $("register-password").value,
  });
  await signedInWith(r, 201);
}));

$("logout-btn").addEventListener("click", guarded(async () => {
  const r = await authed("POST", "/logout");
  accessToken = null;
  status(r.status === 200 ? "Logged out." : errorText(r), r.status !== 200);
  show(false);
}));

$("logout-all-btn").addEventListener("click", guarded(async () => {
  const r = await authed("POST", "/logout-all");
  accessToken = null;
  status(r.status === 200 ? "Logged out of " + r.data.sessionsEnded + " session(s)." : errorText(r), r.status !== 200);
  show(false);
}));

$("password-form").addEventListener("submit", guarded(async () => {
  const r = await authed("POST", "/password", { currentPassword: $("pw-current").value, newPassword: $("pw-new").value });
  if (r.status !== 200) { status(errorText(r), true); return; }
  $("password-form").reset();
  status("Password changed. Every other session has ended.");
  await loadSessions();
}));

$("mfa-form").addEventListener("submit", guarded(async () => {
  const code = $("mfa-code").value.trim(), recovery = $("mfa-recovery").value.trim();
  const body = recovery ? { ticket, recoveryCode: recovery } : { ticket, code };
  const r = await call("POST", "/mfa/verify", body);
  await signedInWith(r, 200);
}));

$("mfa-enroll-btn").addEventListener("click", guarded(async () => {
  const pw = $("mfa-password").value;
  const r = await authed("POST", "/mfa/totp", pw ? { password: pw } : {});
  if (r.status !== 200) { status(errorText(r), true); return; }
  $("mfa-password").value = "";
  $("mfa-secret").textContent = r.data.secret;
  $("mfa-uri").href = r.data.uri;
  $("mfa-enroll").hidden = false;
  $("mfa-codes").hidden = true;
  status("Scan the secret, then confirm with a code from the app.");
}));

$("mfa-enroll").addEventListener("submit", guarded(async () => {
  const r = await authed("POST", "/mfa/totp/confirm", { code: $("mfa-confirm-code").value.trim() });
  if (r.status !== 200) { status(errorText(r), true); return; }
  $("mfa-enroll").hidden = true;
  $("mfa-enroll").reset();
  const list = $("mfa-code-list");
  list.textContent = "";
  for (const c of r.data.recoveryCodes) {
    const li = document.createElement("li");
    li.textContent = c;
    list.appendChild(li);
  }
  $("mfa-codes").hidden = false;
  status("Two-step sign-in is on. Your other sessions have ended.");
  await loadMFA();
  await loadSessions();
}));

// For tests and the curious: the page's own operations.
window.app = { refresh, loadAccount, hasAccessToken: () => accessToken !== null };

(async () => {
  try {
    if (!(await refresh() && await loadAccount())) show(false);
  } catch (e) {
    show(false);
    status("Could not reach the server: " + e.message, true);
  }
  document.body.dataset.ready = "1";
})();
