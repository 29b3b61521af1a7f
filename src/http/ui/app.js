// The API Keys page: signs in to keymint's admin API, lists, creates and
// revokes the account's API keys, and sets up MFA (TOTP).
//
// The session token lives in the `session` variable below and nowhere else:
// not in a cookie, Web Storage or the URL, so reloading the page signs out.
// A client secret is in the page only while its dialog is open. Text from
// the API is always set with textContent, never parsed as HTML.
"use strict";

(function () {
  /** The signed-in session: `{ token }`, or null. */
  let session = null;
  /** The answer of GET /admin/v1/me for that session. */
  let me = null;
  /** The key the revoke dialog asks about. */
  let revoking = null;

  const $ = (id) => document.getElementById(id);

  const SCOPES = {
    configuration: "Configuration API",
    reporting: "Reporting API",
    "account-management": "Account Management",
  };

  // Problem `code`s of the admin API in words a person understands.
  const MESSAGES = {
    invalid_credentials: "The email, password or code is not correct. Check them and try again.",
    otp_required: "Enter the 6-digit code from your authenticator app to finish signing in.",
    invalid_otp:
      "That code does not match. Enter the code your app shows now (check that your phone's clock is right).",
    validation_failed: "Some of what you entered is not valid. Check it and try again.",
    scope_not_allowed: "Account Management access is only available to partner accounts.",
    service_unavailable: "keymint cannot reach its database right now. Try again in a minute.",
    owner_role_required:
      "Only owners of this account can manage API keys. Ask your account's admin.",
    mfa_or_sso_required:
      "Creating API keys needs a session signed in with a one-time code (MFA) or single sign-on. Set up MFA, then sign in again with a code.",
    session_required: "Your session has ended. Sign in again.",
    totp_already_enabled: "MFA is already on for you.",
    totp_not_started: "The MFA setup was not found. Start it again.",
    not_found: "That API key no longer exists.",
    payload_too_large: "What you entered is too long.",
    internal_error:
      "Something went wrong inside keymint. Try again; if it keeps happening, tell your administrator.",
    network_error: "keymint could not be reached. Check your connection and try again.",
  };

  const BLOCKED = {
    owner_role_required: "Only owners of this account can create API keys.",
    mfa_or_sso_required:
      "You signed in with a password only. Creating API keys needs a session signed in with a one-time code (MFA) or single sign-on.",
  };

  /** A failed API call: its HTTP status and problem `code`. */
  class ApiError extends Error {
    constructor(status, code, retryAfter) {
      super(code);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  /** Calls `/admin/v1{path}` with the session, if any; resolves to its JSON. */
  async function api(method, path, body) {
    const headers = { Accept: "application/json, application/problem+json" };
    if (session) headers.Authorization = "Bearer " + session.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch("/admin/v1" + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        redirect: "error",
      });
    } catch (err) {
      throw new ApiError(0, "network_error", null);
    }
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (err) {
        data = null;
      }
    }
    if (!response.ok) {
      const code = data && typeof data.code === "string" ? data.code : "http_" + response.status;
      throw new ApiError(response.status, code, response.headers.get("Retry-After"));
    }
    return data;
  }

  /** A sentence for a failed call; `overrides` maps codes to sentences for this context. */
  function describe(err, overrides) {
    if (!(err instanceof ApiError)) return MESSAGES.internal_error;
    if (overrides && overrides[err.code]) return overrides[err.code];
    if (err.code === "too_many_requests") {
      const seconds = parseInt(err.retryAfter, 10);
      const wait = seconds > 0 ? seconds + (seconds === 1 ? " second" : " seconds") : "a minute";
      return "Too many failed attempts from here. Wait " + wait + " and try again.";
    }
    return MESSAGES[err.code] || "Something unexpected went wrong (HTTP " + err.status + "). Try again.";
  }

  // Messages at the top of the page.

  function showError(text) {
    $("notice").hidden = true;
    $("error").textContent = text;
    $("error").hidden = false;
  }

  function showNotice(text) {
    $("error").hidden = true;
    $("notice").textContent = text;
    $("notice").hidden = false;
  }

  function clearMessages() {
    $("error").hidden = true;
    $("notice").hidden = true;
  }

  function setError(id, text) {
    $(id).textContent = text || "";
    $(id).hidden = !text;
  }

  /** Disables a form's buttons while its request runs. */
  async function busy(container, work) {
    const buttons = container.querySelectorAll("button");
    buttons.forEach((button) => (button.disabled = true));
    container.setAttribute("aria-busy", "true");
    try {
      return await work();
    } finally {
      buttons.forEach((button) => (button.disabled = false));
      container.removeAttribute("aria-busy");
    }
  }

  // Views.

  /** Shows one view and moves the focus to its heading. */
  function show(id, keepMessages) {
    document.querySelectorAll(".view").forEach((view) => (view.hidden = view.id !== id));
    if (!keepMessages) clearMessages();
    const heading = $(id).querySelector("h1");
    if (heading) heading.focus();
    document.title = (heading ? heading.textContent + " · " : "") + "keymint";
  }

  /** Goes to `#hash`, or shows it again when already there. */
  function go(hash, keepMessages) {
    if (location.hash === "#" + hash) {
      route(keepMessages);
    } else {
      keepNextMessages = Boolean(keepMessages);
      location.hash = hash;
    }
  }
  let keepNextMessages = false;

  function route(keepMessages) {
    const keep = keepMessages === true || keepNextMessages;
    keepNextMessages = false;
    const hash = location.hash.slice(1);
    if (!session) {
      show(hash === "sso" ? "view-sso" : "view-sign-in", keep);
    } else if (hash === "mfa") {
      showMfa(keep);
    } else {
      showKeys(keep);
    }
  }

  // Signing in and out.

  async function startSession(token) {
    session = { token };
    $("password").value = "";
    $("otp").value = "";
    $("id-token").value = "";
    $("otp-row").hidden = true;
    await loadMe();
    go("keys");
  }

  async function loadMe() {
    me = await api("GET", "/me");
    $("who").textContent = me.user.email + " (" + me.user.role + ")";
    $("nav").hidden = false;
  }

  /** Forgets the session, telling keymint to end it too, and shows sign-in. */
  async function signOut(message, otpNext) {
    const email = me ? me.user.email : "";
    if (session) {
      try {
        await api("DELETE", "/sessions/current");
      } catch (err) {
        // The session is forgotten here either way; keymint ends it at expiry.
      }
    }
    endSession();
    $("email").value = email;
    $("otp-row").hidden = !otpNext;
    history.replaceState(null, "", location.pathname);
    route();
    if (message) showNotice(message);
    (email ? $("password") : $("email")).focus();
  }

  function endSession() {
    session = null;
    me = null;
    $("nav").hidden = true;
    $("who").textContent = "";
    // Nothing of this session stays in the page for the next one to show.
    $("owner-tools").hidden = true;
    $("members-only").hidden = true;
    $("keys-body").replaceChildren();
    closeDialogs();
  }

  /** Handles an error of a signed-in call: an ended session signs out. */
  function failed(err, overrides) {
    if (err instanceof ApiError && err.code === "session_required") {
      endSession();
      history.replaceState(null, "", location.pathname);
      route();
      showError(MESSAGES.session_required);
      return null;
    }
    return describe(err, overrides);
  }

  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { email: $("email").value.trim(), password: $("password").value };
    const otp = $("otp").value.trim();
    if (!$("otp-row").hidden && otp) body.otp = otp;
    busy($("sign-in-form"), async () => {
      try {
        const created = await api("POST", "/sessions", body);
        await startSession(created.token);
      } catch (err) {
        session = null;
        if (err.code === "otp_required") {
          $("otp-row").hidden = false;
          showNotice(MESSAGES.otp_required);
          $("otp").focus();
          return;
        }
        $("otp").value = "";
        showError(describe(err, { validation_failed: "Enter your email address and password." }));
      }
    });
  });

  $("sso-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const idToken = $("id-token").value.trim();
    busy($("sso-form"), async () => {
      try {
        const created = await api("POST", "/sessions/sso", { id_token: idToken });
        await startSession(created.token);
      } catch (err) {
        session = null;
        showError(
          describe(err, {
            invalid_credentials:
              "keymint could not accept that ID token. It may have expired, be meant for another service, or your account may not use single sign-on. Get a new one and try again.",
            validation_failed: "Paste the ID token from your identity provider.",
          }),
        );
      }
    });
  });

  $("sign-out").addEventListener("click", () => signOut("You have signed out."));

  // The API keys.

  async function showKeys(keepMessages) {
    show("view-keys", keepMessages);
    $("account-name").textContent = me.account.name;
    const owner = me.user.role === "owner";
    $("members-only").hidden = owner;
    $("owner-tools").hidden = !owner;
    if (!owner) return;
    renderCreateButton();
    try {
      await loadMe();
      renderCreateButton();
      renderKeys((await api("GET", "/clients")).clients);
    } catch (err) {
      const text = failed(err);
      if (text) showError(text);
    }
  }

  function renderCreateButton() {
    const reason = me.create_blocked_reason;
    $("create-open").disabled = !me.can_create_clients;
    $("create-blocked").hidden = me.can_create_clients;
    $("create-blocked-text").textContent = reason ? BLOCKED[reason] || MESSAGES[reason] || "" : "";
    const mfaOn = me.user.totp_enabled === true;
    $("create-blocked-mfa").hidden = mfaOn;
    $("create-blocked-again").hidden = !mfaOn;
  }

  function formatTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function creator(client) {
    if (client.created_by === me.user.id) return "you";
    if (client.created_by === "cli") return "an administrator (keymint CLI)";
    return client.created_by_email || "another user";
  }

  function cell(row, label, ...children) {
    const td = document.createElement("td");
    td.dataset.label = label;
    td.append(...children);
    row.append(td);
    return td;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderKeys(clients) {
    const body = $("keys-body");
    body.replaceChildren();
    $("keys-empty").hidden = clients.length > 0;
    $("keys-table").hidden = clients.length === 0;
    for (const client of clients) {
      const row = document.createElement("tr");
      row.dataset.clientId = client.client_id;
      cell(row, "Name", element("span", "name", client.name), element("code", "client-id", client.client_id));
      cell(row, "Access", client.scopes.map((scope) => SCOPES[scope] || scope).join(", "));
      cell(row, "Created", formatTime(client.created_at) + " by " + creator(client));
      cell(row, "Last used", client.last_used_at ? formatTime(client.last_used_at) : "Never");
      const active = client.status === "active";
      const status = active ? "Active" : "Revoked" + (client.revoked_at ? " " + formatTime(client.revoked_at) : "");
      cell(row, "Status", element("span", active ? "badge active" : "badge revoked", status));
      const actions = cell(row, "Actions");
      if (active) {
        const revoke = element("button", "danger small", "Revoke");
        revoke.type = "button";
        revoke.setAttribute("aria-label", "Revoke " + client.name);
        revoke.addEventListener("click", () => openRevoke(client, revoke));
        actions.append(revoke);
      }
      body.append(row);
    }
  }

  // Creating a key.

  $("create-open").addEventListener("click", () => {
    $("create-form").reset();
    setError("create-error", "");
    const partner = me.account.partner === true;
    $("scope-account-management-row").hidden = !partner;
    $("scope-account-management").disabled = !partner;
    $("create-dialog").showModal();
    $("key-name").focus();
  });

  $("create-cancel").addEventListener("click", () => $("create-dialog").close());

  $("create-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("key-name").value.trim();
    const scopes = Array.from(
      $("create-form").querySelectorAll('input[name="scope"]:checked:not(:disabled)'),
      (box) => box.value,
    );
    if (!name) {
      setError("create-error", "Give the key a name.");
      $("key-name").focus();
      return;
    }
    if (scopes.length === 0) {
      setError("create-error", "Choose at least one kind of access.");
      $("scope-configuration").focus();
      return;
    }
    busy($("create-form"), async () => {
      try {
        const created = await api("POST", "/clients", { name, scopes });
        $("create-dialog").close();
        showSecret(created);
        renderKeys((await api("GET", "/clients")).clients);
      } catch (err) {
        setError(
          "create-error",
          failed(err, {
            validation_failed:
              "The key needs a name of at most 100 characters and at least one kind of access.",
          }),
        );
      }
    });
  });

  function showSecret(created) {
    $("new-client-id").value = created.client_id;
    $("new-client-secret").value = created.client_secret;
    $("copy-status").textContent = "";
    $("secret-dialog").showModal();
    $("copy-client-secret").focus();
  }

  async function copy(inputId, what) {
    const input = $(inputId);
    let copied = false;
    try {
      await navigator.clipboard.writeText(input.value);
      copied = true;
    } catch (err) {
      input.select();
      copied = document.execCommand("copy");
    }
    $("copy-status").textContent = copied
      ? "Copied the " + what + " to the clipboard."
      : "Could not copy: select the " + what + " and copy it yourself.";
  }

  $("copy-client-id").addEventListener("click", () => copy("new-client-id", "client ID"));
  $("copy-client-secret").addEventListener("click", () => copy("new-client-secret", "secret"));
  $("secret-done").addEventListener("click", () => $("secret-dialog").close());

  // Escape must not throw the secret away by accident: only the button closes.
  $("secret-dialog").addEventListener("cancel", (event) => event.preventDefault());

  // Once the dialog closes, the secret leaves the page.
  $("secret-dialog").addEventListener("close", () => {
    $("new-client-id").value = "";
    $("new-client-secret").value = "";
    $("copy-status").textContent = "";
    if (session) $("create-open").focus();
  });

  // Revoking a key.

  function openRevoke(client, button) {
    revoking = { client, button };
    $("revoke-name").textContent = client.name;
    $("revoke-client-id").textContent = client.client_id;
    setError("revoke-error", "");
    $("revoke-dialog").showModal();
    $("revoke-cancel").focus();
  }

  $("revoke-cancel").addEventListener("click", () => $("revoke-dialog").close());

  $("revoke-dialog").addEventListener("close", () => {
    if (revoking && revoking.button.isConnected) revoking.button.focus();
    revoking = null;
  });

  $("revoke-confirm").addEventListener("click", () => {
    if (!revoking) return;
    const client = revoking.client;
    busy($("revoke-dialog"), async () => {
      try {
        await api("DELETE", "/clients/" + encodeURIComponent(client.id));
        $("revoke-dialog").close();
        showNotice("Revoked “" + client.name + "”. Programs using it can no longer get access tokens.");
        renderKeys((await api("GET", "/clients")).clients);
        if ($("create-open").disabled) $("keys-title").focus();
        else $("create-open").focus();
      } catch (err) {
        const text = failed(err);
        if (text) setError("revoke-error", text);
      }
    });
  });

  // Setting up MFA.

  async function showMfa(keepMessages) {
    show("view-mfa", keepMessages);
    try {
      await loadMe();
    } catch (err) {
      const text = failed(err);
      if (text) showError(text);
      return;
    }
    const on = me.user.totp_enabled === true;
    $("mfa-on").hidden = !on;
    $("mfa-start-box").hidden = on;
    $("mfa-enrol").hidden = true;
    $("mfa-done").hidden = true;
    $("mfa-on-session").textContent = me.session.mfa
      ? "This session was signed in with a code."
      : me.session.method === "sso"
        ? "This session was signed in with single sign-on."
        : "This session was signed in without a code: sign in again with a code to create API keys.";
    $("mfa-on-again").hidden = me.session.method !== "password";
  }

  $("mfa-start").addEventListener("click", () => {
    busy($("mfa-start-box"), async () => {
      try {
        const enrolment = await api("POST", "/me/totp");
        showEnrolment(enrolment);
      } catch (err) {
        const text = failed(err);
        if (text) showError(text);
      }
    });
  });

  function showEnrolment(enrolment) {
    // The QR code is drawn here, by the vendored encoder, as a data: URL.
    const qr = qrcode(0, "M");
    qr.addData(enrolment.otpauth_uri);
    qr.make();
    $("mfa-qr").src = qr.createDataURL(5, 4);
    $("mfa-secret").textContent = enrolment.secret.replace(/(.{4})/g, "$1 ").trim();
    $("mfa-code").value = "";
    $("mfa-start-box").hidden = true;
    $("mfa-enrol").hidden = false;
    clearMessages();
    $("mfa-code").focus();
  }

  $("mfa-confirm-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const otp = $("mfa-code").value.trim();
    if (!/^[0-9]{6}$/.test(otp)) {
      showError("Enter the 6-digit code your app shows.");
      return;
    }
    busy($("mfa-confirm-form"), async () => {
      try {
        await api("POST", "/me/totp/confirm", { otp });
        $("mfa-qr").removeAttribute("src");
        $("mfa-secret").textContent = "";
        $("mfa-enrol").hidden = true;
        $("mfa-done").hidden = false;
        clearMessages();
        $("mfa-done-again").focus();
        await loadMe();
      } catch (err) {
        $("mfa-code").value = "";
        const text = failed(err, { validation_failed: "Enter the 6-digit code your app shows." });
        if (text) showError(text);
      }
    });
  });

  const signInWithCode = () =>
    signOut("Sign in with your password and a code from your authenticator app.", true);
  $("mfa-done-again").addEventListener("click", signInWithCode);
  $("mfa-on-again").addEventListener("click", signInWithCode);
  $("create-blocked-again").addEventListener("click", signInWithCode);

  function closeDialogs() {
    document.querySelectorAll("dialog").forEach((dialog) => {
      if (dialog.open) dialog.close();
    });
  }

  window.addEventListener("hashchange", () => route());
  route();
})();
