// The room's pulse as a small SVG: sentiment shares per minute (stacked), spike minutes
// marked, the top negative words beside it. Built from GET /v1/rooms/{room}/pulse.
import { h } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const COLORS = { negative: "#cf222e", neutral: "#afb8c1", positive: "#2da44e" };

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Render `data` (the pulse dashboard) into `container`. */
export function renderPulse(container, data) {
  container.replaceChildren();
  const minutes = data.minutes || [];
  if (!minutes.length) {
    container.append(h("p", { class: "meta" }, "暂无评论数据。"));
    return;
  }
  const W = 720, H = 170, top = 18, bottom = 22, left = 30;
  const bw = Math.max(3, Math.floor((W - left) / minutes.length) - 2);
  const spikes = minutes.filter((m) => m.alert).map((m) => m.minute.slice(11, 16));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label":
    `每分钟情绪占比，共 ${minutes.length} 分钟` + (spikes.length ? `；突变分钟：${spikes.join("、")}` : "；无突变") });
  const plotH = H - top - bottom;
  for (const frac of [0, 0.5, 1]) {
    const y = top + plotH * (1 - frac);
    svg.append(s("line", { x1: left, x2: W, y1: y, y2: y, stroke: "#d0d7de" }));
    svg.append(s("text", { x: 0, y: y + 4, "font-size": 10, fill: "#57606a" }, `${frac * 100}%`));
  }
  minutes.forEach((m, i) => {
    const x = left + i * (bw + 2);
    let y = top + plotH;
    for (const label of ["negative", "neutral", "positive"]) {
      const hgt = plotH * (m.shares[label] || 0);
      y -= hgt;
      const r = s("rect", { x, y, width: bw, height: hgt, fill: COLORS[label] });
      r.append(s("title", {}, `${m.minute.slice(11, 16)} ${label} ${(100 * (m.shares[label] || 0)).toFixed(0)}%（${m.comments} 条）`));
      svg.append(r);
    }
    if (m.alert) {
      svg.append(s("rect", { x: x - 1, y: top - 1, width: bw + 2, height: plotH + 2, fill: "none", stroke: "#000", "stroke-width": 2, class: "spike" }));
      svg.append(s("text", { x: x + bw / 2, y: top - 5, "text-anchor": "middle", "font-size": 12, fill: "#a40e26" }, "▲突变"));
    }
    if (i % Math.ceil(minutes.length / 8) === 0) {
      svg.append(s("text", { x, y: H - 6, "font-size": 10, fill: "#57606a" }, m.minute.slice(11, 16)));
    }
  });
  container.append(svg);
  container.append(h("p", { class: "pulse-legend" }, "红：负面 · 灰：中性 · 绿：正面；黑框与 ▲ 为情绪突变的分钟。"));
  const words = (data.top_negative_words || []).map((w) => `${w.word}（${w.count}）`);
  container.append(h("p", { class: "neg-words" }, "近五分钟负面高频词：", words.length ? words.join("、") : "无"));
}
