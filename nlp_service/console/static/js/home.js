import { $, h } from "./dom.js";
import { signedIn } from "./session.js";

const me = await signedIn();
const list = $("#my-rooms");
for (const room of me.rooms) {
  if (room === "*") list.append(h("li", {}, "全部房间（在上方输入房间名打开）"));
  else list.append(h("li", {}, h("a", { href: `/console/rooms/${encodeURIComponent(room)}` }, `房间 ${room}`)));
}
