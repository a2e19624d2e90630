// The moderators' live queue: one SSE connection (GET /v1/moderation/stream) hands this
// moderator a few items at a time; decisions go to POST /v1/moderation/items/{id}/decision.
// Keys a/d/b/r decide the item in focus; the next one is already here.
import { fetchEventSource } from "../vendor/fetch-event-source/index.js";
import { $, ago, h, hhmm, say, tag, zh } from "./dom.js";
import { renderPulse } from "./pulse.js";
import { api, authHeaders, signedIn } from "./session.js";

const items = new Map(); // item_id → item (arrival order): what this moderator holds
const decided = new Set(); // decided here: never shown again, whatever the stream says
let stream = null;
let claimSeconds = 300;

const isAlert = (item) => (item.moderation.categories || []).includes("mood_spike");
const queue = () => [...items.values()].filter((i) => !isAlert(i));
const current = () => queue()[0] || null;

function setConn(text, cls) {
  const badge = $("#conn");
  badge.textContent = text;
  badge.className = `badge ${cls}`;
}

/** The comment with each matched span marked, on the ORIGINAL text (spans index it). */
function highlighted(text, terms) {
  const spans = terms.filter((t) => t.end > t.start).sort((a, b) => a.start - b.start);
  const out = [];
  let at = 0;
  for (const t of spans) {
    if (t.start < at) continue; // overlapping hit: the first one is marked
    out.push(text.slice(at, t.start));
    out.push(h("mark", { title: `${zh("category", t.category)}（${t.category}）：${t.term}，${t.how}` }, text.slice(t.start, t.end)));
    at = t.end;
  }
  out.push(text.slice(at));
  return out;
}

function expiryText(item) {
  const left = (item.expiresAt - performance.now()) / 1000;
  return left > 0 ? `${Math.ceil(left)} 秒后退回队列` : null;
}

function renderItem() {
  const item = current();
  $("#empty").hidden = item !== null;
  $("#item").hidden = item === null;
  renderHeld();
  if (!item) return;
  const c = item.comment;
  $("#item").dataset.itemId = item.item_id;
  $("#item-room").textContent = `房间 ${item.room}`;
  $("#item-user").textContent = `${c.nickname || "（无昵称）"}（${c.user}）`;
  $("#item-time").textContent = c.ts ? hhmm(c.ts) : "";
  $("#item-text").replaceChildren(...highlighted(c.text, item.moderation.terms || []));
  renderGroup(item);
  $("#item-action").replaceChildren(tag("action", item.moderation.action));
  $("#item-categories").replaceChildren(...(item.moderation.categories || []).flatMap((x, i) => (i ? ["、", tag("category", x)] : [tag("category", x)])));
  $("#item-score").textContent = (item.moderation.score ?? 0).toFixed(2);
  $("#item-terms").replaceChildren(...(item.moderation.terms || []).map((t) =>
    h("li", { title: `${t.category} · ${t.how}` }, `${t.text || t.term} → ${zh("category", t.category)}`)));
  const recent = item.recent_comments || [];
  $("#item-recent").replaceChildren(...(recent.length ? recent.map((r) => h("li", {}, `${r.ts ? hhmm(r.ts) + " " : ""}${r.text}`)) : [h("li", { class: "meta" }, "（没有更早的评论）")]));
  if ($("#reply-text").dataset.for !== item.item_id) {
    $("#reply-text").value = item.suggested_reply || "";
    $("#reply-text").dataset.for = item.item_id;
    $("#reason").value = "";
  }
  tick();
}

/** "×N 条，来自 M 位用户": a storm of one text in the room is one item (repeats > 1). */
const repeatsText = (item) => `×${item.repeats} 条，来自 ${item.repeat_users} 位用户`;
const isGroup = (item) => (item.repeats || 1) > 1;

function renderGroup(item) {
  $("#item-group").hidden = !isGroup(item);
  if (!isGroup(item)) return;
  $("#item-repeats").textContent = repeatsText(item);
  $("#item-members").replaceChildren(...(item.members || []).map((m) =>
    h("li", { "data-comment-id": m.id }, `${m.ts ? hhmm(m.ts) + " " : ""}${m.nickname || "（无昵称）"}（${m.user}）：${m.text}`)));
}

function renderHeld() {
  const list = queue();
  $("#held-count").textContent = String(list.length);
  $("#held").replaceChildren(...list.map((i, n) => h("li", { "aria-current": n === 0 ? "true" : null, "data-item-id": i.item_id },
    i.comment.text, isGroup(i) ? h("span", { class: "repeats" }, ` ×${i.repeats}`) : "")));
}

const pct = (x) => `${Math.round((x || 0) * 100)}%`;

function renderAlerts() {
  const alerts = [...items.values()].filter(isAlert);
  $("#alerts").hidden = alerts.length === 0;
  const list = $("#alert-list");
  for (const card of [...list.children]) if (!items.has(card.dataset.itemId)) card.remove();
  for (const item of alerts) {
    if (list.querySelector(`[data-item-id="${CSS.escape(item.item_id)}"]`)) continue;
    const alert = item.moderation.alert || {};
    const chart = h("div", { class: "pulse" }, "正在载入情绪曲线…");
    const reply = h("textarea", { id: `alert-reply-${list.children.length}`, rows: 2, maxlength: 500 });
    reply.value = item.suggested_reply || "";
    const card = h("article", { class: "alert-card", "data-item-id": item.item_id },
      h("p", { title: item.comment.text }, h("strong", {}, `房间 ${item.room}`), ` ${hhmm(alert.minute ? alert.minute * 60000 : item.comment.ts).slice(0, 5)} 情绪突变：`,
        `负面占比 ${pct(alert.negative_share)}（此前基线 ${pct(alert.baseline_negative_share)}），争议评论 ${pct(alert.controversy_rate)}（基线 ${pct(alert.baseline_controversy_rate)}）`),
      h("p", { class: "meta" }, alert.top_negative_words ? `负面高频词：${alert.top_negative_words.map((w) => w[0] ?? w.word ?? w).join("、")}` : ""),
      chart,
      h("label", { for: reply.id }, "给主播的话术（可编辑）"), reply,
      h("div", { class: "buttons" },
        h("button", { type: "button", onclick: () => decide("approve", item) }, "知道了"),
        h("button", { type: "button", onclick: () => decide("reply", item, reply.value) }, "发送话术")));
    list.append(card);
    api("GET", `/v1/rooms/${encodeURIComponent(item.room)}/pulse?minutes=30`).then((d) => renderPulse(chart, d), (e) => { chart.textContent = `情绪曲线载入失败：${e.message}`; });
  }
}

function render() {
  renderAlerts();
  renderItem();
}

function tick() {
  const item = current();
  if (!item) return;
  const text = expiryText(item);
  const el = $("#item-expiry");
  el.textContent = text || "已超时，已退回队列（可能被其他审核员领取）";
  el.className = text ? "" : "expired";
}
setInterval(tick, 1000);

async function decide(action, item = current(), replyText = $("#reply-text").value) {
  if (!item || decided.has(item.item_id)) return;
  const body = { action, reason: item === current() ? $("#reason").value : "" };
  if (action === "ban") body.ban_seconds = Number($("#ban-seconds").value);
  if (action === "reply") {
    if (!replyText.trim()) { $("#decide-error").textContent = "回复内容不能为空。"; $("#reply-text").focus(); return; }
    body.reply_text = replyText;
  }
  $("#decide-error").textContent = "";
  decided.add(item.item_id); // optimistic: the next item is on screen at once
  items.delete(item.item_id);
  render();
  try {
    const out = await api("POST", `/v1/moderation/items/${encodeURIComponent(item.item_id)}/decision`, body);
    const d = out.decision;
    const by = d.moderator;
    $("#done").prepend(h("li", { "data-item-id": item.item_id }, `${DECISION_ZH[d.action]} · ${item.comment.text}`,
      isGroup(item) ? ` ×${item.repeats}` : "", out.applied_now ? "" : `（已由 ${by} 先处理）`));
  } catch (err) {
    decided.delete(item.item_id);
    items.set(item.item_id, item);
    render();
    $("#decide-error").textContent = `提交失败：${err.message}`;
  }
}
const DECISION_ZH = { approve: "通过", delete: "删除", ban: "封禁", reply: "回复" };

function onEvent(ev) {
  const data = ev.data ? JSON.parse(ev.data) : null;
  if (ev.event === "hello") {
    claimSeconds = data.claim_seconds;
  } else if (ev.event === "item") {
    if (decided.has(data.item_id)) return;
    data.expiresAt = performance.now() + (data.returns_in_seconds ?? claimSeconds) * 1000;
    items.set(data.item_id, data);
    render();
  } else if (ev.event === "held") {
    const keep = new Set(data.item_ids);
    for (const id of [...items.keys()]) if (!keep.has(id)) items.delete(id);
    render();
  } else if (ev.event === "gone") {
    if (!items.has(data.item_id)) return;
    const text = items.get(data.item_id).comment.text;
    items.delete(data.item_id);
    $("#gone-note").textContent = data.why === "decided"
      ? `「${text}」已由 ${data.decision.moderator} ${DECISION_ZH[data.decision.action]}，已从你的列表移除。`
      : `「${text}」超时未处理，已退回队列，由其他审核员接手。`;
    render();
  } else if (ev.event === "stats") {
    $("#stats tbody").replaceChildren(...data.rooms.map((r) => h("tr", {},
      h("td", {}, r.room), h("td", {}, String(r.depth)), h("td", {}, ago(r.oldest_age_seconds)),
      h("td", { title: r.shift ? `${hhmm(r.shift.start).slice(0, 5)}–${hhmm(r.shift.end).slice(0, 5)}` : "" },
        Object.entries((r.shift && r.shift.decisions) || {}).map(([m, n]) => `${m} ${n}`).join("，") || "—"),
      h("td", {}, Object.entries(r.decisions || {}).map(([m, n]) => `${m} ${n}`).join("，") || "—"))));
  }
}

class Fatal extends Error {}

function connect(rooms) {
  if (stream) stream.abort();
  stream = new AbortController();
  const query = rooms.map((r) => `rooms=${encodeURIComponent(r)}`).join("&");
  setConn("连接中…", "");
  fetchEventSource(`/v1/moderation/stream?${query}`, {
    headers: authHeaders(),
    signal: stream.signal,
    openWhenHidden: true, // a moderator's held items stay live in a background tab
    async onopen(response) {
      if (response.ok) { setConn("已连接", "ok"); return; }
      let message = `HTTP ${response.status}`;
      try { message = (await response.json()).error.message; } catch { /* keep the status */ }
      if (response.status >= 400 && response.status < 500) throw new Fatal(message);
      throw new Error(message);
    },
    onmessage: onEvent,
    onclose() { throw new Error("服务器关闭了连接"); }, // reconnect: the server never ends it on purpose
    onerror(err) {
      if (err instanceof Fatal) { setConn(`无法连接：${err.message}`, "bad"); throw err; }
      setConn("连接断开，正在重连…（未处理的评论不会丢失）", "bad");
      return 2000;
    },
  }).catch(() => {});
}

document.addEventListener("keydown", (event) => {
  if (event.target.id === "reply-text" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault(); // typing the answer: Ctrl+Enter sends it without leaving the box
    decide("reply");
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  const t = event.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return;
  const action = { a: "approve", d: "delete", b: "ban", r: "reply" }[event.key.toLowerCase()];
  if (action && current()) {
    event.preventDefault();
    decide(action);
  }
});
for (const button of document.querySelectorAll("#decide-form [data-action]")) {
  button.addEventListener("click", () => decide(button.dataset.action));
}

const me = await signedIn();
let rooms = me.rooms.filter((r) => r !== "*");
if (me.rooms.includes("*") || me.role === "admin") {
  try {
    rooms = [...new Set([...rooms, ...(await api("GET", "/v1/moderation/stats")).rooms.map((r) => r.room)])];
  } catch (err) {
    say(`无法读取房间列表：${err.message}`);
  }
}
const choices = $("#room-choices");
choices.replaceChildren(...rooms.map((r, i) => h("label", { for: `room-${i}` },
  h("input", { type: "checkbox", id: `room-${i}`, name: "room", value: r, checked: true }), ` ${r}`)));
if (!rooms.length) choices.append(h("span", { class: "meta" }, "队列里还没有房间；开始后会审核你的密钥可见的全部房间。"));
$("#rooms-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const picked = [...choices.querySelectorAll("input:checked")].map((x) => x.value);
  connect(picked);
  say(picked.length ? `正在审核：${picked.join("、")}` : "正在审核全部可见房间");
  $("#focus-title").focus?.();
});
$("#start").focus();
render();
