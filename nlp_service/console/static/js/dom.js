// Small DOM helpers. Text always goes in as text (textContent), never as HTML: comments are
// written by strangers.

/** h("li", {class: "x", title: "id"}, "text", child) → an element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Labels from the page's JSON block (one vocabulary, rendered by the server). */
const LABELS = JSON.parse(document.getElementById("labels").textContent);
export function zh(kind, id) {
  return (LABELS[kind] && LABELS[kind][id]) || id;
}
export const listCategories = () => LABELS.lists;

/** A label shown in Chinese with its id in the tooltip. */
export function tag(kind, id) {
  return h("span", { class: `tag tag-${kind}`, title: id, "data-id": id }, zh(kind, id));
}

export function hhmm(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

export function ago(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds)} 秒`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} 分钟`;
  return `${(seconds / 3600).toFixed(1)} 小时`;
}

export function say(text) {
  document.getElementById("status").textContent = text;
}
