// The live room: its action feed (what the bot is told: hides, unhides, bans, posts, alerts)
// over SSE with the operator's key, and the pulse chart, refreshed every 15 seconds.
import { fetchEventSource } from "../vendor/fetch-event-source/index.js";
import { $, h, hhmm } from "./dom.js";
import { renderPulse } from "./pulse.js";
import { api, authHeaders } from "./session.js";

const KIND_ZH = { hide_comment: "隐藏评论", unhide_comment: "恢复评论", ban_user: "封禁用户", post_text: "发言", host_alert: "主播预警" };
const KEEP = 200;
// reply outcomes (replies/limits.py), ids kept in the tooltip
const OUTCOME_ZH = {
  reply: "已回复", burst: "合并回复已发出", aggregated: "合并到同一条回复", named: "在合并回复中点名", mention_cap: "超出点名人数上限",
  budget: "房间发言预算用完", dropped_budget: "预算不足，未发出", user_cooldown: "用户冷却中", banned: "用户已封禁",
  schedule: "不在规则时段", missing_variable: "缺少房间变量", flood: "刷屏", moderation: "被审核拦截",
};

function describe(a) {
  if (a.kind === "post_text") return `${a.text}（${a.source === "moderator" ? "审核员" : a.source === "burst" ? "合并回复" : a.source || ""}）`;
  if (a.kind === "hide_comment" || a.kind === "unhide_comment") return `评论 ${a.comment_id}（用户 ${a.user}）${a.by ? "，由 " + a.by : ""}${a.reason ? "：" + a.reason : ""}`;
  if (a.kind === "ban_user") return `用户 ${a.user} 至 ${new Date(a.until).toLocaleString("zh-CN", { hour12: false })}${a.by ? "，由 " + a.by : ""}`;
  if (a.kind === "host_alert") {
    const al = a.alert || {};
    const pct = (x) => `${Math.round((x || 0) * 100)}%`;
    return `${al.minute ? hhmm(al.minute * 60000).slice(0, 5) + " " : ""}情绪突变，负面占比 ${pct(al.negative_share)}（基线 ${pct(al.baseline_negative_share)}）`;
  }
  return JSON.stringify(a);
}

export function startLive(room) {
  const list = $("#live-actions");
  const perMinute = new Map();
  fetchEventSource(`/v1/rooms/${encodeURIComponent(room)}/actions/stream?after=0`, {
    headers: authHeaders(),
    openWhenHidden: true,
    onmessage(ev) {
      if (!ev.data) return;
      const a = JSON.parse(ev.data);
      const at = a.at || Date.now();
      list.prepend(h("li", { "data-kind": a.kind, "data-comment-id": a.comment_id || null, title: a.kind }, `${hhmm(at)} ${KIND_ZH[a.kind] || a.kind}：${describe(a)}`));
      while (list.children.length > KEEP) list.lastChild.remove();
      if (a.kind === "post_text") {
        const minute = Math.floor(at / 60000);
        perMinute.set(minute, (perMinute.get(minute) || 0) + 1);
        const last = [...perMinute.entries()].sort((x, y) => y[0] - x[0]).slice(0, 5);
        $("#live-posts").textContent = "动作流每分钟发言（合并回复、审核员回复）：" + last.map(([m, n]) => `${hhmm(m * 60000).slice(0, 5)} ${n}`).join("，");
      }
    },
    onclose() { throw new Error("closed"); },
    onerror() { return 2000; },
  }).catch(() => {});
  let lastReplies = null;
  const refresh = async () => {
    try { renderPulse($("#live-pulse"), await api("GET", `/v1/rooms/${encodeURIComponent(room)}/pulse?minutes=30`)); } catch (err) { $("#live-pulse").textContent = `情绪曲线载入失败：${err.message}`; }
    try {
      const r = await api("GET", `/v1/rooms/${encodeURIComponent(room)}/replies?recent=0`);
      const names = [...new Set([...Object.keys(r.decisions), ...Object.keys(r.final)])].sort();
      $("#live-replies tbody").replaceChildren(...names.map((n) => h("tr", { "data-outcome": n },
        h("td", { title: n }, OUTCOME_ZH[n] || n), h("td", {}, String(r.decisions[n] ?? "—")), h("td", {}, String(r.final[n] ?? "—")))));
      const replied = r.decisions.reply || 0;
      const now = performance.now();
      if (lastReplies) {
        const perMinute = ((replied - lastReplies.count) * 60000) / (now - lastReplies.at);
        $("#live-rate").textContent = `自动回复：近 ${Math.round((now - lastReplies.at) / 1000)} 秒约每分钟 ${perMinute.toFixed(1)} 条（累计 ${replied} 条）`;
      }
      lastReplies = { count: replied, at: now };
    } catch (err) { $("#live-replies tbody").replaceChildren(h("tr", {}, h("td", { colspan: 3 }, `载入失败：${err.message}`))); }
  };
  refresh();
  setInterval(refresh, 15000);
}
