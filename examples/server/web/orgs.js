// The members screen of the reference page: the caller's organizations
// (switching between them), the active organization's members (role
// changes and removal for owners and admins), invitations, and accepting
// one. It uses app.js's helpers (authed, guarded, status, errorText).
"use strict";

let activeOrg = null;
let activeRole = null;

// loadOrgs fills the screen for the signed-in user u (from GET /me).
async function loadOrgs(u) {
  activeOrg = u.organizationId;
  activeRole = u.role;
  const r = await authed("GET", "/orgs");
  $("org-card").hidden = r.status !== 200;
  if (r.status !== 200) return;
  const sel = $("org-select");
  sel.textContent = "";
  for (const o of r.data.organizations) {
    const opt = document.createElement("option");
    opt.value = o.id;
    opt.textContent = o.name + " (" + o.role + ")";
    opt.selected = o.id === activeOrg;
    sel.appendChild(opt);
  }
  await loadMembers();
}

async function loadMembers() {
  const body = document.querySelector("#members tbody");
  body.textContent = "";
  if (!activeOrg) return;
  const r = await authed("GET", "/orgs/" + encodeURIComponent(activeOrg) + "/members");
  if (r.status !== 200) { status(errorText(r), true); return; }
  const manages = activeRole === "owner" || activeRole === "admin";
  $("invite-form").hidden = !manages;
  for (const m of r.data.members) {
    const tr = document.createElement("tr");
    tr.dataset.userId = m.userId;
    const who = document.createElement("td");
    who.textContent = m.name + " <" + m.email + ">";
    const role = document.createElement("td");
    const canTouch = manages && (activeRole === "owner" || m.role !== "owner");
    if (canTouch) {
      const s = document.createElement("select");
      s.className = "member-role";
      for (const v of ["member", "admin", "owner"]) {
        const o = document.createElement("option");
        o.value = v;
        o.textContent = v;
        o.selected = v === m.role;
        s.appendChild(o);
      }
      s.addEventListener("change", guarded(async () => {
        const res = await authed("PATCH", "/orgs/" + encodeURIComponent(activeOrg) + "/members/" + encodeURIComponent(m.userId), { role: s.value });
        status(res.status === 200 ? "Role changed" : errorText(res), res.status !== 200);
        await loadMembers();
      }));
      role.appendChild(s);
    } else {
      role.textContent = m.role;
    }
    const joined = document.createElement("td");
    joined.textContent = new Date(m.joinedAt).toLocaleString();
    const act = document.createElement("td");
    if (canTouch) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "danger member-remove";
      b.textContent = "Remove";
      b.addEventListener("click", guarded(async () => {
        const res = await authed("DELETE", "/orgs/" + encodeURIComponent(activeOrg) + "/members/" + encodeURIComponent(m.userId));
        status(res.status === 200 ? "Member removed" : errorText(res), res.status !== 200);
        await loadMembers();
      }));
      act.appendChild(b);
    }
    tr.append(who, role, joined, act);
    body.appendChild(tr);
  }
}

$("org-refresh-btn").addEventListener("click", guarded(loadMembers));

$("org-switch-btn").addEventListener("click", guarded(async () => {
  const id = $("org-select").value;
  const r = await authed("POST", "/orgs/" + encodeURIComponent(id) + "/switch");
  if (r.status !== 200) { status(errorText(r), true); return; }
  accessToken = r.data.accessToken;
  await loadAccount();
  status("Switched organization");
}));

$("invite-form").addEventListener("submit", guarded(async () => {
  const r = await authed("POST", "/orgs/" + encodeURIComponent(activeOrg) + "/invitations",
    { email: $("invite-email").value.trim(), role: $("invite-role").value });
  if (r.status !== 201) { status(errorText(r), true); return; }
  $("invite-form").reset();
  status("Invitation sent to " + r.data.invitation.email);
}));

$("accept-form").addEventListener("submit", guarded(async () => {
  const r = await authed("POST", "/invitations/accept", { token: $("accept-token").value.trim() });
  if (r.status !== 200) { status(errorText(r), true); return; }
  $("accept-form").reset();
  status("Joined " + r.data.organization.name);
  await loadAccount();
}));
