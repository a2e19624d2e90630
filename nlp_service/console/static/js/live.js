// The live room: its action feed (what the bot is told: hides, unhides, bans, posts, alerts)
// over SSE with the operator's key, and the pulse chart, refreshed every 15 seconds.
import { fetchEventSource } from "../vendor/fetch-event-source/index.js";
import { $, h, hhmm } from "./dom.js";
import { renderPulse } from "./pulse.js";
import { api, authHeaders } from "./session.js";

const KIND_ZH = { hide_comment: "隐藏评论", unhide_comment: "恢复评论", ban_user: "封禁用户", post_text: "发言", host_alert: "主播预警" };
const KEEP = 200;

function describe(a) {
  if (a.kind === "post_text") return `${a.text}（${a.source === "moderator" ? "审核员" : a.source === "burst" ? "合并回复" : a.source || ""}）`;
  if (a.kind === "hide_comment" || a.kind === "unhide_comment") return `评论 ${a.comment_id}（用户 ${a.user}）${a.by ? "，由 " + a.by : ""}${a.reason ? "：" + a.reason : ""}`;
  if (a.kind === "ban_user") return `用户 ${a.user} 至 ${new Date(a.until).toLocaleString("zh-CN", { hour12: false })}${a.by ? "，由 " + a.by : ""}`;
  if (a.kind === "host_alert") return (a.alert && a.alert.why) || "情绪突变";
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
        $("#live-rate").textContent = "每分钟动作流发言数：" + last.map(([m, n]) => `${hhmm(m * 60000).slice(0, 5)} ${n}`).join("，");
      }
    },
    onclose() { throw new Error("closed"); },
    onerror() { return 2000; },
  }).catch(() => {});
  const pulse = async () => {
    try { renderPulse($("#live-pulse"), await api("GET", `/v1/rooms/${encodeURIComponent(room)}/pulse?minutes=30`)); } catch (err) { $("#live-pulse").textContent = `情绪曲线载入失败：${err.message}`; }
  };
  pulse();
  setInterval(pulse, 15000);
}
