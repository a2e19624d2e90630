// The live room's comments (GET /v1/rooms/{room}/comments/stream, SSE with the operator's
// key): each comment with its labels and the bot's reply, or why it got none. Newest on top;
// "pause" holds new rows back so a fast room can be read.
import { fetchEventSource } from "../vendor/fetch-event-source/index.js";
import { $, h, hhmm, tag } from "./dom.js";
import { authHeaders } from "./session.js";

const KEEP = 300;
// why a comment got no reply (live/reasons.py), ids kept in the tooltip
export const REASON_ZH = {
  no_match: "未命中规则", schedule: "不在规则时段", missing_variable: "缺少房间变量", invalid_text: "无法分析的文本",
  moderation: "被审核拦截", own_bot: "机器人自己的发言", store_unavailable: "Redis 不可用，未回复", banned: "用户已封禁",
  user_cooldown: "用户冷却中", aggregated: "合并到同一条回复", mention_cap: "超出点名人数上限", budget: "房间发言预算用完", flood: "刷屏",
};

function row(c) {
  const answer = c.reply
    ? h("span", { class: "reply", title: c.rule_id || "" }, `回复：${c.reply}`)
    : h("span", { class: "reason", title: c.reason || "" }, REASON_ZH[c.reason] || c.reason || "—");
  return h("tr", { "data-comment-id": c.id, "data-action": c.action },
    h("td", {}, hhmm(c.ts || Number(c.feed_id.split("-")[0]))),
    h("td", { title: c.user }, c.nickname || c.user),
    h("td", { class: "text" }, c.text),
    h("td", {}, c.sentiment ? tag("sentiment", c.sentiment) : "—"),
    h("td", {}, c.intent ? tag("intent", c.intent) : "—"),
    h("td", {}, tag("action", c.action), ...(c.categories || []).map((x) => [" ", tag("category", x)])),
    h("td", {}, answer));
}

export function startComments(room) {
  const body = $("#live-comments tbody");
  const status = $("#live-comments-status");
  let held = [];
  const show = (rows) => {
    body.prepend(...rows.reverse());
    while (body.children.length > KEEP) body.lastChild.remove();
  };
  $("#live-pause").addEventListener("change", (event) => {
    if (!event.target.checked) { show(held); held = []; status.textContent = ""; }
  });
  fetchEventSource(`/v1/rooms/${encodeURIComponent(room)}/comments/stream?backlog=50`, {
    headers: authHeaders(),
    openWhenHidden: true,
    onopen: async (response) => {
      status.textContent = response.ok ? "" : `评论实况连接失败（HTTP ${response.status}）`;
      if (response.status === 401 || response.status === 403) throw new Error("forbidden"); // no retry: the key cannot read it
    },
    onmessage(ev) {
      if (ev.event !== "comments" || !ev.data) return;
      const rows = JSON.parse(ev.data).map(row); // one feed entry: the comments of one flush, oldest first
      if ($("#live-pause").checked) {
        held.push(...rows);
        status.textContent = `已暂停，攒下 ${held.length} 条新评论`;
      } else show(rows);
    },
    onclose() { throw new Error("closed"); }, // reconnect (Last-Event-ID resumes after the last shown)
    onerror(err) {
      if (err.message === "forbidden") throw err;
      status.textContent = "评论实况连接中断，正在重连…";
      return 2000;
    },
  }).catch(() => {});
}
