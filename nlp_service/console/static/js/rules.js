// The rules of a room and the global ones: list, enable/disable, edit with the API's own
// validation errors shown beside the field they are about (PUT/POST /v1/rules).
import { $, h, say } from "./dom.js";
import { api } from "./session.js";

let ROOM = "";
let roomVariables = () => ({});
let editing = null; // the rule being edited as loaded: fields the form does not show are kept
const BUILTIN = new Set(["nickname", "room", "question"]);
const enc = encodeURIComponent;
const split = (text) => text.split(/[,，]/).map((x) => x.trim()).filter(Boolean);

export async function loadRules() {
  const [room, global] = await Promise.all([api("GET", `/v1/rules?scope=${enc(ROOM)}`), api("GET", "/v1/rules?scope=global")]);
  const rules = [...room.rules, ...global.rules].sort((a, b) => a.priority - b.priority || a.id.localeCompare(b.id));
  $("#rules-table tbody").replaceChildren(...rules.map((r) => h("tr", { class: r.enabled ? "" : "disabled", "data-rule": `${r.scope}/${r.id}` },
    h("td", { title: r.description || "" }, r.id),
    h("td", {}, r.scope === "global" ? "全局" : "本房间"),
    h("td", {}, String(r.priority)),
    h("td", {}, r.enabled ? "启用" : "停用", r.schedule ? `（定时 ${r.schedule.windows.map((w) => `${w.start.slice(0, 5)}–${w.end.slice(0, 5)}`).join("，")}）` : ""),
    h("td", {}, [...r.match.any, ...Object.entries(r.match.intents || {}).map(([i, c]) => `${i}≥${c}`)].join("，")),
    h("td", {}, r.replies[0], r.replies.length > 1 ? `（共 ${r.replies.length} 条）` : ""),
    h("td", {},
      h("button", { type: "button", onclick: () => edit(r) }, `编辑 ${r.id}`), " ",
      h("button", { type: "button", onclick: () => save({ ...r, enabled: !r.enabled }, r) }, r.enabled ? `停用 ${r.id}` : `启用 ${r.id}`)))));
}

function field(name) {
  return document.querySelector(`#rule-form [data-field="${name}"]`);
}

function clearErrors() {
  for (const el of document.querySelectorAll("#rule-form .field-error")) el.remove();
  for (const el of document.querySelectorAll("#rule-form [aria-invalid]")) el.removeAttribute("aria-invalid");
  $("#rule-error").textContent = "";
}

function edit(rule) {
  editing = rule;
  clearErrors();
  const form = $("#rule-form");
  form.hidden = false;
  $("#rule-form-title").textContent = rule ? `编辑规则 ${rule.scope}/${rule.id}` : "新建规则";
  const r = rule || { id: "", scope: ROOM, description: "", enabled: true, priority: 100, match: { any: [], none: [], regex: null, intents: {} }, replies: [] };
  field("id").value = r.id;
  field("scope").value = r.scope === "global" ? "global" : ROOM;
  field("description").value = r.description || "";
  field("enabled").checked = r.enabled;
  field("priority").value = r.priority;
  field("match.any").value = r.match.any.join("，");
  field("match.none").value = (r.match.none || []).join("，");
  field("match.regex").value = r.match.regex || "";
  field("match.intents").value = Object.entries(r.match.intents || {}).map(([i, c]) => `${i}:${c}`).join("，");
  field("replies").value = r.replies.join("\n");
  $("#rule-windows").replaceChildren(...(r.schedule ? r.schedule.windows : []).map(windowRow));
  checkVariables();
  field("id").focus();
}

const DAYS_ZH = ["一", "二", "三", "四", "五", "六", "日"];
let windowSeq = 0;

/** One schedule window as a row of the form: start, end, weekdays, remove. */
function windowRow(w = { start: "", end: "", days: [0, 1, 2, 3, 4, 5, 6] }) {
  const n = ++windowSeq;
  const days = new Set(w.days || [0, 1, 2, 3, 4, 5, 6]);
  const row = h("li", { class: "window", "data-window": n },
    h("label", { for: `win-${n}-start` }, "开始"), h("input", { id: `win-${n}-start`, type: "time", class: "win-start", value: (w.start || "").slice(0, 5) }),
    h("label", { for: `win-${n}-end` }, "结束"), h("input", { id: `win-${n}-end`, type: "time", class: "win-end", value: (w.end || "").slice(0, 5) }),
    h("span", { class: "days", role: "group", "aria-label": "星期" }, ...DAYS_ZH.map((d, i) => h("label", { class: "day" },
      h("input", { type: "checkbox", class: "win-day", value: i, checked: days.has(i) }), `周${d}`))),
    h("button", { type: "button", class: "win-remove", onclick: () => { row.remove(); $("#rule-window-add").focus(); } }, "删除此时段"));
  return row;
}

let sentWindowRows = []; // the rows of the windows last sent, in order (an error's index points here)

function windowsFromForm() {
  const rows = [...document.querySelectorAll("#rule-windows .window")].filter((row) => $(".win-start", row).value || $(".win-end", row).value);
  sentWindowRows = rows;
  return rows.map((row) => ({
    start: $(".win-start", row).value, end: $(".win-end", row).value,
    days: [...row.querySelectorAll(".win-day")].filter((c) => c.checked).map((c) => Number(c.value)),
  }));
}

/** The control an error about schedule.windows.<i>.<part> is about, and its Chinese name. */
function windowTarget(loc) {
  const at = loc.indexOf("windows");
  const row = at >= 0 ? sentWindowRows[loc[at + 1]] : null;
  if (!row) return null;
  const part = loc[at + 2];
  const name = `时段 ${loc[at + 1] + 1} 的${{ start: "开始时间", end: "结束时间", days: "星期" }[part] || ""}`;
  return [part === "end" ? $(".win-end", row) : part === "days" ? $("#rule-schedule") : $(".win-start", row), name];
}

/** Variables a reply uses that the room has not set: the API accepts them (a room may set
 * them later) but the rule stays silent until then, so say so while typing. */
function checkVariables() {
  const used = new Set([...field("replies").value.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]));
  const missing = [...used].filter((v) => !BUILTIN.has(v) && !(v in roomVariables()));
  $("#rule-warn").textContent = missing.length ? `注意：本房间还没有设置变量 ${missing.join("、")}，用到它们的话术暂时不会发出。` : "";
}

function fromForm() {
  const base = editing || { match: {} };
  const intents = {};
  for (const pair of split(field("match.intents").value)) {
    const [name, conf] = pair.split(/[:：]/);
    intents[name.trim()] = conf === undefined ? 0.6 : Number(conf);
  }
  const windows = windowsFromForm();
  const keepZone = base.schedule ? base.schedule.timezone : "Asia/Shanghai";
  return {
    ...base,
    id: field("id").value.trim(),
    scope: field("scope").value,
    description: field("description").value,
    enabled: field("enabled").checked,
    priority: Number(field("priority").value),
    match: { ...base.match, any: split(field("match.any").value), none: split(field("match.none").value), regex: field("match.regex").value || null, intents },
    replies: field("replies").value.split(/\r?\n/).filter((x, i, all) => x.trim() || all.length === 1),
    schedule: windows.length ? { timezone: keepZone, windows } : null,
  };
}

/** Save `rule` (PUT when it replaces `original` in the same scope and id, else POST). */
async function save(rule, original) {
  const same = original && original.scope === rule.scope && original.id === rule.id;
  try {
    if (same) await api("PUT", `/v1/rules/${enc(rule.scope)}/${enc(rule.id)}`, rule);
    else await api("POST", "/v1/rules", rule);
    say(`规则 ${rule.scope}/${rule.id} 已保存，所有实例即时生效。`);
    await loadRules();
    return true;
  } catch (err) {
    showErrors(err);
    return false;
  }
}

function showErrors(err) {
  clearErrors();
  $("#rule-error").textContent = `保存失败：${err.message}`;
  for (const d of err.details || []) {
    const loc = d.loc.filter((p) => p !== "body" && typeof p === "string");
    let target = null;
    let prefix = "";
    if (loc[0] === "schedule") [target, prefix] = windowTarget(d.loc) || [null, ""];
    for (let n = loc.length; n > 0 && !target; n--) target = field(loc.slice(0, n).join("."));
    if (!target) continue;
    target.setAttribute("aria-invalid", "true");
    const note = h("span", { class: "field-error", id: `err-${target.id}` }, (prefix ? prefix + "：" : "") + d.msg.replace(/^Value error, /, ""));
    target.setAttribute("aria-describedby", note.id);
    target.after(note);
  }
  const first = document.querySelector("#rule-form [aria-invalid]");
  if (first && $("#rule-form").hidden === false) first.focus();
}

export function bindRules(room, variables) {
  ROOM = room;
  roomVariables = variables;
  $("#rule-new").addEventListener("click", () => edit(null));
  $("#rule-cancel").addEventListener("click", () => { $("#rule-form").hidden = true; clearErrors(); });
  field("replies").addEventListener("input", checkVariables);
  $("#rule-window-add").addEventListener("click", () => {
    const row = windowRow();
    $("#rule-windows").append(row);
    $(".win-start", row).focus();
  });
  $("#rule-form").addEventListener("input", (event) => { // an edited field's error goes with the edit
    const el = event.target;
    if (el.getAttribute("aria-invalid") !== "true") return;
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-describedby");
    document.getElementById(`err-${el.id}`)?.remove();
  });
  $("#rule-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await save(fromForm(), editing)) $("#rule-form").hidden = true;
  });
}
