// "Sign in with a provider" for the reference page: one button per
// provider that the server offers (GET /oidc/providers), and the way back:
// the callback sends the browser here with #oidc_code=... (a one-time
// code, never a token), which is exchanged with POST /oidc/exchange in
// cookie mode, or with #oidc_error=CODE.
"use strict";

(() => {
  const api = "/api/v2/auth";
  const statusLine = document.getElementById("status");
  const messages = {
    ACCOUNT_EXISTS: "An account with this email exists: log in with it first, then link the provider from your account.",
    OIDC_FAILED: "Sign-in with the provider failed.",
    EMAIL_REQUIRED: "The provider did not share an email address.",
  };

  // whenReady waits for app.js to finish its own start (refresh, account).
  function whenReady() {
    return new Promise((resolve) => {
      const check = () => (document.body.dataset.ready === "1" ? resolve() : setTimeout(check, 20));
      check();
    });
  }

  async function buttons() {
    const r = await fetch(api + "/oidc/providers");
    if (r.status !== 200) return;
    const box = document.getElementById("oidc-buttons");
    for (const p of (await r.json()).providers) {
      const a = document.createElement("a");
      a.className = "button oidc";
      a.id = "oidc-" + p.name;
      a.href = api + "/oidc/" + encodeURIComponent(p.name);
      a.textContent = "Sign in with " + p.label;
      box.appendChild(a);
    }
  }

  async function comeBack() {
    const frag = new URLSearchParams(location.hash.slice(1));
    if (!frag.has("oidc_code") && !frag.has("oidc_error") && !frag.has("oidc_linked")) return;
    history.replaceState(null, "", location.pathname); // the code leaves the address bar
    await whenReady();
    if (frag.has("oidc_error")) {
      const code = frag.get("oidc_error");
      statusLine.textContent = messages[code] || "Sign-in with the provider was refused (" + code + ").";
      statusLine.className = "error";
      return;
    }
    if (frag.has("oidc_linked")) {
      statusLine.textContent = "Linked " + frag.get("oidc_linked") + " to your account.";
      return;
    }
    const r = await fetch(api + "/oidc/exchange", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Auth-Mode": "cookie" },
      body: JSON.stringify({ code: frag.get("oidc_code") }),
      credentials: "same-origin",
    });
    const data = await r.json();
    if (r.status !== 200) {
      statusLine.textContent = (data.error && data.error.message) || "Sign-in failed.";
      statusLine.className = "error";
      return;
    }
    await window.app.refresh();
    await window.app.loadAccount();
    statusLine.textContent = "Signed in as " + data.user.email + ".";
    document.body.dataset.oidc = "signed-in";
  }

  buttons().catch(() => {});
  comeBack().catch((e) => { statusLine.textContent = "Could not reach the server: " + e.message; });
})();
