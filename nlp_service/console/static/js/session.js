// The user's API key: kept in this tab's sessionStorage (gone when the tab closes), sent
// only in the API's own Authorization header. Never put in a URL, a cookie or a log line:
// a header key also means no cookie rides along on a forged cross-site request (CSRF).
import { $ } from "./dom.js";

const STORE = "nlp-console-key";
const NOTE = "nlp-console-note"; // a message that outlives the reload of a sign-out

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.type = err.type || "http_error";
    this.details = err.details || [];
  }
}

export function authHeaders() {
  return { Authorization: `Bearer ${sessionStorage.getItem(STORE) || ""}` };
}

/** Call the /v1 API with the signed-in key; JSON in and out; ApiError on a non-2xx. */
export async function api(method, path, body, { raw = false, contentType = "application/json", signOutOn401 = true } = {}) {
  const headers = { ...authHeaders() };
  let payload;
  if (body !== undefined) {
    headers["content-type"] = contentType;
    payload = contentType === "application/json" ? JSON.stringify(body) : body;
  }
  const response = await fetch(path, { method, headers, body: payload, cache: "no-store", credentials: "omit" });
  if (response.status === 401 && signOutOn401) signOut("密钥无效或已被吊销，请重新登录。");
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, data);
  }
  if (response.status === 204) return null;
  return raw ? response.text() : response.json();
}

export function signOut(message = "") {
  sessionStorage.removeItem(STORE);
  if (message) sessionStorage.setItem(NOTE, message);
  location.reload();
}

function showSignedIn(me) {
  $("#sign-in").hidden = true;
  $("#main").hidden = false;
  $("#who").hidden = false;
  $("#who-text").textContent = `${me.name}（${me.role}）`;
}

/** Resolves with the key's {name, role, rooms} once the user is signed in. */
export function signedIn() {
  return new Promise((resolve) => {
    const tryKey = async () => {
      try {
        const me = await api("GET", "/v1/keys/me", undefined, { signOutOn401: false });
        showSignedIn(me);
        resolve(me);
        return true;
      } catch (err) {
        return err;
      }
    };
    const form = $("#sign-in-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      sessionStorage.setItem(STORE, $("#api-key").value.trim());
      $("#api-key").value = "";
      const result = await tryKey();
      if (result !== true) {
        sessionStorage.removeItem(STORE);
        $("#sign-in-error").textContent = result.status === 401 ? "密钥无效。" : `登录失败：${result.message}`;
      }
    });
    const ask = () => {
      $("#sign-in").hidden = false;
      $("#sign-in-error").textContent = sessionStorage.getItem(NOTE) || "";
      sessionStorage.removeItem(NOTE);
      $("#api-key").focus();
    };
    if (sessionStorage.getItem(STORE)) tryKey().then((ok) => ok === true || ask());
    else ask();
  });
}

$("#sign-out").addEventListener("click", () => signOut());
$("#room-jump").addEventListener("submit", (event) => {
  event.preventDefault();
  location.assign(`/console/rooms/${encodeURIComponent($("#room-jump-name").value.trim())}`);
});
