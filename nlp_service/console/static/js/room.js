// A room's operator page: rules, the dry run, variables, word lists, bans, keys, live view.
// Every call is a public /v1 endpoint with the signed-in key (role admin).
import { $, h, listCategories, say, tag, zh } from "./dom.js";
import { startComments } from "./comments.js";
import { startLive } from "./live.js";
import { bindRules, loadRules } from "./rules.js";
import { api, signedIn } from "./session.js";

const ROOM = document.body.dataset.room;
const enc = encodeURIComponent;

function fail(where, err) {
  $(where).textContent = `${err.message}`;
}

// --- try it: the dry run exactly as the bot would post it ---------------------------------
$("#try-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const out = $("#try-out");
  try {
    const r = await api("POST", "/v1/rules/dry-run", { room: ROOM, text: $("#try-text").value, nickname: $("#try-nickname").value || "dry-run" });
    const rows = r.considered.map((c) => h("li", {}, `${c.rule_id}（优先级 ${c.priority}）：${c.outcome}${c.detail ? "，" + c.detail : ""}`));
    out.replaceChildren(
      r.fired
        ? h("p", {}, "机器人会发：", h("span", { class: "would", id: "would-reply" }, r.fired.would_reply), `（规则 ${r.fired.rule_id}；限流：${r.fired.limits_now.join("、")}）`)
        : h("p", { id: "would-reply-none" }, `不会回复：${r.reason}`),
      h("p", { class: "meta" }, "意图：", tag("intent", r.intent.label), " · 情绪：", tag("sentiment", r.sentiment.label)),
      rows.length ? h("ul", {}, rows) : "");
  } catch (err) {
    out.replaceChildren(h("p", { class: "error", role: "alert" }, err.message));
  }
});

// --- room variables --------------------------------------------------------------------
let variables = {};
const removedVars = new Set();
async function loadVariables() {
  variables = (await api("GET", `/v1/rooms/${enc(ROOM)}/variables`)).variables;
  removedVars.clear();
  renderVariables();
}
function renderVariables() {
  $("#vars-table tbody").replaceChildren(...Object.entries(variables).map(([name, value], i) => h("tr", {},
    h("td", {}, h("label", { for: `var-${i}` }, name)),
    h("td", {}, h("input", { id: `var-${i}`, "data-name": name, value })),
    h("td", {}, h("button", { type: "button", onclick: () => { delete variables[name]; removedVars.add(name); renderVariables(); } }, `删除 ${name}`)))));
}
$("#var-add").addEventListener("click", () => {
  const name = $("#var-new-name").value.trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) { $("#vars-error").textContent = "变量名只能用字母、数字和下划线，且不能以数字开头。"; return; }
  variables[name] = $("#var-new-value").value;
  removedVars.delete(name);
  $("#var-new-name").value = $("#var-new-value").value = "";
  $("#vars-error").textContent = "";
  renderVariables();
});
$("#vars-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = {};
  for (const input of document.querySelectorAll("#vars-table input")) values[input.dataset.name] = input.value;
  for (const name of removedVars) values[name] = null;
  try {
    variables = (await api("PUT", `/v1/rooms/${enc(ROOM)}/variables`, values)).variables;
    removedVars.clear();
    renderVariables();
    $("#vars-error").textContent = "";
    say("房间变量已保存，所有实例即时生效。");
  } catch (err) { fail("#vars-error", err); }
});

// --- word lists --------------------------------------------------------------------------
const categorySelect = $("#list-category");
categorySelect.replaceChildren(...listCategories().map((c) => h("option", { value: c, title: c }, `${zh("category", c)}（${c}）`)));
const listPath = () => `/v1/moderation/lists/${enc($("#list-scope").value)}/${enc(categorySelect.value)}`;
// Loads can overlap (a search typed while an add is on its way, a category change): only the
// newest one may draw the list, or an older answer arriving late would hide a fresh change.
let listLoads = 0;
async function loadList() {
  const mine = ++listLoads;
  try {
    const r = await api("GET", `${listPath()}?q=${enc($("#list-search").value)}&limit=300`);
    if (mine !== listLoads) return;
    $("#list-summary").textContent = `共 ${r.total} 个词${r.total > r.terms.length ? `（显示前 ${r.terms.length} 个）` : ""}；本范围新增 ${r.added.length}、移除 ${r.removed.length}。`;
    $("#list-terms").replaceChildren(...r.terms.map((t) => h("li", {}, t, " ",
      h("button", { type: "button", "aria-label": `移除 ${t}`, onclick: () => changeList({ remove: [t] }) }, "×"))));
    $("#list-error").textContent = "";
  } catch (err) { if (mine === listLoads) fail("#list-error", err); }
}
async function changeList(body) {
  try {
    const r = await api("POST", listPath(), body);
    say(`词库已更新：新增 ${r.added}，移除 ${r.removed}；一秒内所有实例生效。`);
    await loadList();
  } catch (err) { fail("#list-error", err); }
}
$("#list-pick").addEventListener("submit", (event) => { event.preventDefault(); loadList(); });
categorySelect.addEventListener("change", loadList);
$("#list-scope").addEventListener("change", loadList);
$("#list-add").addEventListener("submit", async (event) => {
  event.preventDefault();
  await changeList({ add: [$("#list-add-term").value] });
  $("#list-add-term").value = "";
});
$("#list-import").addEventListener("submit", async (event) => {
  event.preventDefault();
  const terms = $("#list-import-text").value.split(/\r?\n/).map((x) => x.trim()).filter(Boolean);
  if (terms.length) await changeList({ add: terms });
  $("#list-import-text").value = "";
});
$("#list-export").addEventListener("click", async () => {
  try {
    const r = await api("GET", `${listPath()}?limit=200000`);
    const url = URL.createObjectURL(new Blob([r.terms.join("\n") + "\n"], { type: "text/plain" }));
    const a = h("a", { href: url, download: `${r.scope}-${r.category}.txt` });
    document.body.append(a);
    a.click();
    a.remove();
    URL.revokeObjectURL(url);
  } catch (err) { fail("#list-error", err); }
});

// --- bans ------------------------------------------------------------------------------
async function loadBans() {
  const bans = (await api("GET", `/v1/rooms/${enc(ROOM)}/bans`)).bans;
  $("#bans-table tbody").replaceChildren(...Object.entries(bans).map(([user, until]) => h("tr", {},
    h("td", {}, user), h("td", {}, new Date(until).toLocaleString("zh-CN", { hour12: false })),
    h("td", {}, h("button", { type: "button", onclick: async () => {
      try { await api("DELETE", `/v1/rooms/${enc(ROOM)}/bans/${enc(user)}`); await loadBans(); } catch (err) { fail("#ban-error", err); }
    } }, `解除 ${user}`)))));
}
$("#ban-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("POST", `/v1/rooms/${enc(ROOM)}/bans`, { user: $("#ban-user").value.trim(), seconds: Number($("#ban-duration").value) });
    $("#ban-user").value = "";
    $("#ban-error").textContent = "";
    await loadBans();
  } catch (err) { fail("#ban-error", err); }
});

// --- API keys ------------------------------------------------------------------------------
async function loadKeys() {
  const keys = (await api("GET", "/v1/keys")).keys;
  $("#keys-table tbody").replaceChildren(...keys.map((k) => h("tr", {},
    h("td", { title: k.key_id }, k.name), h("td", {}, k.role), h("td", {}, k.rooms.join("，")),
    h("td", {}, h("button", { type: "button", onclick: async () => {
      if (!confirm(`吊销密钥 ${k.name}？使用它的机器人或审核员将立即无法访问。`)) return;
      try { await api("DELETE", `/v1/keys/${enc(k.key_id)}`); await loadKeys(); } catch (err) { fail("#key-error", err); }
    } }, `吊销 ${k.name}`)))));
}
$("#key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const rooms = $("#key-rooms").value.split(/[,，\s]+/).filter(Boolean);
    const k = await api("POST", "/v1/keys", { name: $("#key-name").value.trim(), role: $("#key-role").value, rooms });
    $("#key-created").textContent = `新密钥（只显示这一次，请立即保存）：${k.key}`;
    $("#key-error").textContent = "";
    $("#key-name").value = "";
    await loadKeys();
  } catch (err) { fail("#key-error", err); }
});

// --- start ---------------------------------------------------------------------------------
const me = await signedIn();
if (me.role !== "admin") {
  say(`房间管理需要管理员（admin）密钥；当前密钥是 ${me.role}。`);
} else {
  bindRules(ROOM, () => variables);
  const loads = [loadRules(), loadVariables(), loadList(), loadBans(), loadKeys()];
  const failed = (await Promise.allSettled(loads)).filter((r) => r.status === "rejected");
  if (failed.length) say(`部分内容载入失败：${failed.map((r) => r.reason.message).join("；")}`);
  startLive(ROOM);
  startComments(ROOM);
}
