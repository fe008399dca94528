// Passkeys on the reference page: add one, sign in with one (no email
// typed), use one as the second step of a password login, and list,
// rename and remove them. It uses app.js's call, authed, status,
// errorText, signedInWith and ticket. The browser does the WebAuthn work;
// the options and the credential travel as the standard JSON forms.
"use strict";

const passkeyAPI = {
  supported: () => !!(window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON),
};

async function passkeyCreate(publicKey) {
  const cred = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey) });
  return cred.toJSON();
}

async function passkeyGet(publicKey) {
  const cred = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(publicKey) });
  return cred.toJSON();
}

// passkeyFailed reports a refused or cancelled ceremony.
function passkeyFailed(e) {
  status("The passkey was not used: " + (e && e.message ? e.message : e), true);
}

async function loadPasskeys() {
  const r = await authed("GET", "/passkeys");
  $("passkey-card").hidden = r.status === 501 || r.status === 404;
  const body = document.querySelector("#passkeys tbody");
  body.textContent = "";
  if (r.status !== 200) return;
  for (const k of r.data.passkeys) {
    const tr = body.insertRow();
    tr.className = "passkey";
    tr.dataset.id = k.id;
    const name = tr.insertCell();
    name.className = "passkey-name";
    name.textContent = k.name;
    if (k.backupEligible) {
      const b = document.createElement("span");
      b.className = "badge";
      b.textContent = k.backupState ? "synced" : "can sync";
      name.appendChild(b);
    }
    tr.insertCell().textContent = new Date(k.createdAt).toLocaleString();
    tr.insertCell().textContent = k.lastUsedAt ? new Date(k.lastUsedAt).toLocaleString() : "never";
    const act = tr.insertCell();
    const ren = document.createElement("button");
    ren.className = "link rename-passkey";
    ren.textContent = "Rename";
    ren.onclick = guarded(async () => {
      const n = prompt("New name", k.name);
      if (!n) return;
      const x = await authed("PATCH", "/passkeys/" + encodeURIComponent(k.id), { name: n });
      status(x.status === 204 ? "Passkey renamed." : errorText(x), x.status !== 204);
      await loadPasskeys();
    });
    const del = document.createElement("button");
    del.className = "link danger remove-passkey";
    del.textContent = "Remove";
    del.onclick = guarded(async () => {
      const x = await authed("DELETE", "/passkeys/" + encodeURIComponent(k.id));
      status(x.status === 204 ? "Passkey removed." : errorText(x), x.status !== 204);
      await loadPasskeys();
      await loadMFA(); // a passkey is a second step
    });
    act.append(ren, " ", del);
  }
}

$("passkey-add-btn").addEventListener("click", guarded(async () => {
  const pw = $("passkey-password").value;
  const b = await authed("POST", "/passkeys/register/begin", pw ? { password: pw } : {});
  if (b.status !== 200) { status(errorText(b), true); return; }
  let credential;
  try { credential = await passkeyCreate(b.data.publicKey); } catch (e) { passkeyFailed(e); return; }
  const body = { ceremony: b.data.ceremony, credential };
  const name = $("passkey-name").value.trim();
  if (name) body.name = name;
  const r = await authed("POST", "/passkeys/register/finish", body);
  if (r.status !== 201) { status(errorText(r), true); return; }
  $("passkey-password").value = "";
  $("passkey-name").value = "";
  status("Passkey added.");
  await loadPasskeys();
  await loadMFA(); // a passkey is a second step
}));

$("passkey-login-btn").addEventListener("click", guarded(async () => {
  const b = await call("POST", "/passkeys/login/begin", {});
  if (b.status !== 200) { status(errorText(b), true); return; }
  let credential;
  try { credential = await passkeyGet(b.data.publicKey); } catch (e) { passkeyFailed(e); return; }
  const r = await call("POST", "/passkeys/login/finish", { ceremony: b.data.ceremony, credential });
  await signedInWith(r, 200);
}));

$("mfa-passkey-btn").addEventListener("click", guarded(async () => {
  const b = await call("POST", "/mfa/passkey/begin", { ticket });
  if (b.status !== 200) { status(errorText(b), true); return; }
  let credential;
  try { credential = await passkeyGet(b.data.publicKey); } catch (e) { passkeyFailed(e); return; }
  const r = await call("POST", "/mfa/passkey/finish", { ticket, ceremony: b.data.ceremony, credential });
  await signedInWith(r, 200);
}));

if (!passkeyAPI.supported()) {
  $("passkey-login").hidden = true;
  $("passkey-card").hidden = true;
}

window.passkeys = { load: loadPasskeys, supported: passkeyAPI.supported };
