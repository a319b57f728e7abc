"""The browser side of `photolab.widgets.photos`: the timeline and the viewer as anywidget
modules (JavaScript and CSS), kept apart from the Python that feeds them.

Stable class names for tests and styling: `photolab-tile` (a thumbnail; its alt text says
"photo ID"), `photolab-day` (a day heading), `photolab-month`, `photolab-viewer` (the open
photo), `photolab-video` (the playing element), `photolab-badge` (a video or motion photo),
`photolab-select` (the timeline's Select button), `photolab-picked` (a chosen tile).
"""

from ._html import IMAGE_URL_JS
from .early import EARLY_GONE

TIMELINE_ESM = IMAGE_URL_JS + r"""
function render({ model, el }) {
  el.classList.add("photolab-timeline");
  const bar = document.createElement("div");
  bar.className = "photolab-bar";
  const jump = document.createElement("select");
  jump.className = "photolab-jump";
  const fill = () => {
    jump.innerHTML = "";
    const first = document.createElement("option");
    first.value = ""; first.textContent = "jump to…";
    jump.append(first);
    for (const m of model.get("months")) {
      const o = document.createElement("option");
      o.value = m.month; o.textContent = `${m.label} (${m.n})`;
      jump.append(o);
    }
  };
  fill();
  model.on("change:months", fill);
  const count = document.createElement("span");
  count.className = "photolab-count";
  const pick = document.createElement("button");
  pick.className = "photolab-select"; pick.textContent = "Select";
  const chosen = new Set();
  const sel = document.createElement("span");
  sel.className = "photolab-selection"; sel.style.display = "none";
  sel.innerHTML = `<span class="photolab-chosen">0 chosen</span>
    <input class="photolab-album-name" placeholder="album name">
    <button class="photolab-album-add">Add to album</button>`;
  const note = document.createElement("span");
  note.className = "photolab-notice";
  bar.append(jump, count, pick, sel, note);
  const selecting = () => pick.classList.contains("photolab-on");
  const tally = () => {
    sel.querySelector(".photolab-chosen").textContent = `${chosen.size} chosen`;
  };
  pick.addEventListener("click", () => {
    const on = !selecting();
    pick.classList.toggle("photolab-on", on);
    pick.textContent = on ? "Done" : "Select";
    sel.style.display = on ? "" : "none";
    if (!on) {
      chosen.clear();
      el.querySelectorAll(".photolab-picked").forEach((b) => b.classList.remove("photolab-picked"));
    }
    tally();
  });
  sel.querySelector(".photolab-album-add").addEventListener("click", () => {
    const name = sel.querySelector(".photolab-album-name").value;
    model.send({ type: "album", ids: [...chosen], name });
  });
  const body = document.createElement("div");
  const more = document.createElement("div");
  more.className = "photolab-more";
  more.textContent = "loading…";
  el.append(bar, body, more);
  let lastDay = null, lastMonth = null, grid = null, busy = true, done = false;
  const urls = [];
  const animated = {}, tiles = {};
  const request = () => {
    if (busy || done) return;
    busy = true;
    model.send({ type: "more" });
  };
  model.on("msg:custom", (msg, buffers) => {
    if (msg.type === "animation") {
      const u = URL.createObjectURL(new Blob([buffers[0]], { type: "image/webp" }));
      animated[msg.id] = u; urls.push(u);
      const img = tiles[msg.id];
      if (img) { img.src = u; img.classList.add("photolab-animated"); }
      return;
    }
    if (msg.type === "notice") { note.textContent = msg.text; return; }
    if (msg.type === "reset") {
      urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
      body.innerHTML = ""; lastDay = null; lastMonth = null; done = false;
      chosen.clear(); tally();
      jump.style.display = model.get("months").length ? "" : "none";
      return;
    }
    if (msg.type !== "page") return;
    /*EARLY_GONE*/
    msg.tiles.forEach((t, i) => {
      if (t.month !== lastMonth) {
        const h = document.createElement("h2");
        h.className = "photolab-month"; h.textContent = t.month_label;
        if (t.month_label) body.append(h);
        lastMonth = t.month; lastDay = null;
      }
      if (t.day !== lastDay) {  // a day's heading (none over a search's results)
        const h = document.createElement("h3");
        h.className = "photolab-day"; h.textContent = t.day_label;
        grid = document.createElement("div");
        grid.className = "photolab-grid";
        if (t.day_label) body.append(h);
        body.append(grid); lastDay = t.day;
      }
      const box = document.createElement("figure");
      box.className = "photolab-tilebox";
      const img = document.createElement("img");
      img.className = "photolab-tile";
      img.alt = `photo ${t.id}`;
      img.title = `#${t.id} ${t.label}`;
      const url = imageUrl(buffers[i], t.type, urls);
      img.src = url;
      img.addEventListener("click", () => {
        if (!selecting()) { model.send({ type: "open", id: t.id }); return; }
        if (chosen.has(t.id)) chosen.delete(t.id); else chosen.add(t.id);
        box.classList.toggle("photolab-picked", chosen.has(t.id));
        tally();
      });
      if (t.badge) {  // a video or motion photo: its animated preview while pointed at
        const still = url;
        const animate = () => {
          if (animated[t.id]) { img.src = animated[t.id]; return; }
          tiles[t.id] = img;
          model.send({ type: "animate", id: t.id });
        };
        img.addEventListener("mouseenter", animate);
        img.addEventListener("touchstart", animate, { passive: true });
        img.addEventListener("mouseleave", () => { img.src = still; });
      }
      box.append(img);
      if (t.badge) {
        const b = document.createElement("span");
        b.className = "photolab-badge"; b.textContent = t.badge;
        box.append(b);
      }
      grid.append(box);
    });
    count.textContent = msg.count;
    done = msg.done; busy = false;
    more.textContent = done ? "" : "loading…";
    const r = more.getBoundingClientRect();
    if (!done && r.top < window.innerHeight + 400) request();
  });
  new IntersectionObserver((es) => { if (es.some((e) => e.isIntersecting)) request(); },
                           { rootMargin: "400px" }).observe(more);
  jump.addEventListener("change", () => {
    if (jump.value) { busy = true; model.send({ type: "jump", month: jump.value }); }
  });
  model.send({ type: "ready" });
}
export default { render };
""".replace("/*EARLY_GONE*/", EARLY_GONE)

TIMELINE_CSS = """
.photolab-timeline { font-family: sans-serif; }
.photolab-bar { display: flex; gap: 12px; align-items: center; margin: 4px 0 8px; }
.photolab-month { font-size: 20px; margin: 18px 0 4px; }
.photolab-day { font-size: 14px; font-weight: 600; color: #444; margin: 10px 0 4px; }
.photolab-grid { display: flex; flex-wrap: wrap; gap: 4px; }
.photolab-grid::after { content: ""; flex-grow: 999; }
.photolab-tilebox { position: relative; margin: 0; height: 150px; flex-grow: 1; }
.photolab-tile { height: 150px; max-width: 100%; min-width: 100%; object-fit: cover;
                 vertical-align: bottom; cursor: pointer; border-radius: 2px; }
.photolab-badge { position: absolute; right: 6px; bottom: 6px; color: #fff;
                  background: rgba(0,0,0,.55); border-radius: 10px; padding: 0 7px;
                  font-size: 13px; pointer-events: none; }
.photolab-more { color: #888; padding: 12px 0; }
.photolab-bar { flex-wrap: wrap; }
.photolab-bar button, .photolab-bar input { padding: 4px 9px; border-radius: 4px;
                                            border: 1px solid #bbb; background: #fafafa; }
.photolab-on { background: #1976d2 !important; color: #fff; }
.photolab-notice { color: #2e7d32; }
.photolab-picked .photolab-tile { outline: 5px solid #1976d2; outline-offset: -5px;
                                  opacity: .8; }
@media (max-width: 600px) {
  .photolab-tilebox, .photolab-tile { height: 96px; }
}
"""

VIEWER_ESM = r"""
function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "photolab-viewer";
  root.style.display = "none";
  root.tabIndex = -1;
  root.innerHTML = `
    <div class="pv-stage"><div class="pv-frame"></div>
      <button class="pv-prev" title="previous (←)">‹</button>
      <button class="pv-next" title="next (→)">›</button>
      <button class="pv-close" title="close (Esc)">✕</button></div>
    <div class="pv-side"><div class="pv-actions">
      <button class="pv-fav">☆ Favourite</button>
      <select class="pv-rate"><option value="">rate…</option>
        <option>0</option><option>1</option><option>2</option><option>3</option>
        <option>4</option><option>5</option></select>
      <button class="pv-full">Original</button>
      <button class="pv-download">Download</button>
      <button class="pv-similar">More like this</button></div>
      <div class="pv-notice"></div>
      <div class="pv-edit">
        <div class="pv-field"><input class="pv-tag" placeholder="tag: beach, summer">
          <button class="pv-tag-go">Tag</button></div>
        <div class="pv-field"><input class="pv-album" placeholder="album name">
          <button class="pv-album-go">Add to album</button></div>
        <div class="pv-field"><input class="pv-date" type="datetime-local" step="1">
          <button class="pv-date-go">Set date</button></div>
        <div class="pv-field"><input class="pv-place" placeholder="city, region, country">
          <button class="pv-place-go">Set place</button></div></div>
      <div class="pv-details"></div></div>`;
  el.append(root);
  const frame = root.querySelector(".pv-frame");
  const send = (type, extra) => model.send(Object.assign({ type }, extra || {}));
  root.querySelector(".pv-prev").onclick = () => send("prev");
  root.querySelector(".pv-next").onclick = () => send("next");
  root.querySelector(".pv-close").onclick = () => send("close");
  root.querySelector(".pv-fav").onclick = () => send("favorite");
  root.querySelector(".pv-full").onclick = () => send("original");
  const rate = root.querySelector(".pv-rate");
  rate.onchange = () => { if (rate.value !== "") send("rate", { stars: +rate.value }); };
  root.querySelector(".pv-download").onclick = () => send("download");
  root.querySelector(".pv-similar").onclick = () => send("similar");
  const list = document.createElement("datalist");
  list.id = `pv-albums-${Math.random().toString(36).slice(2)}`;
  root.append(list);
  root.querySelector(".pv-album").setAttribute("list", list.id);
  for (const [field, kind, key] of [["tag", "tag", "text"], ["album", "album", "name"],
                                    ["date", "date", "value"], ["place", "place", "text"]]) {
    const input = root.querySelector(`.pv-${field}`);
    const go = () => send(kind, { [key]: input.value });
    root.querySelector(`.pv-${field}-go`).onclick = go;
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
  }
  document.addEventListener("keydown", (e) => {
    if (root.style.display === "none") return;
    const typing = e.target.closest && e.target.closest("input, select, textarea");
    if (typing && e.key !== "Escape") return;  // arrows move the caret there
    if (e.key === "ArrowLeft") send("prev");
    else if (e.key === "ArrowRight") send("next");
    else if (e.key === "Escape") send("close");
    else return;
    e.preventDefault();
  });
  let url = null;
  model.on("msg:custom", (msg, buffers) => {
    const notice = root.querySelector(".pv-notice");
    if (msg.type === "close") { root.style.display = "none"; frame.innerHTML = ""; return; }
    if (msg.type === "notice") { notice.textContent = msg.text; return; }
    if (msg.type === "download") {  // the original, saved under its own file name
      const a = document.createElement("a");
      const u = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime }));
      a.href = u; a.download = msg.name; a.className = "pv-saving";
      root.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(u), 60000);
      return;
    }
    if (msg.type !== "show") return;
    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(new Blob([buffers[0]], { type: msg.media }));
    frame.innerHTML = "";
    notice.textContent = msg.notice || "";
    let shown;
    if (msg.media.startsWith("video/")) {
      shown = document.createElement("video");
      shown.className = "photolab-video";
      shown.controls = true; shown.autoplay = true; shown.muted = true; shown.loop = true;
      shown.playsInline = true;
    } else {
      shown = document.createElement("img");
      shown.className = "pv-image";
      shown.alt = `photo ${msg.id}`;
    }
    shown.src = url;
    const holder = document.createElement("div");
    holder.className = "pv-holder";
    holder.append(shown);
    if (!msg.media.startsWith("video/")) {
      for (const f of msg.faces) {
        const b = document.createElement("div");
        b.className = "pv-face";
        Object.assign(b.style, { left: `${f.left * 100}%`, top: `${f.top * 100}%`,
                                 width: `${f.width * 100}%`, height: `${f.height * 100}%` });
        if (f.name) {
          const n = document.createElement("span");
          n.textContent = f.name; b.append(n);
        }
        holder.append(b);
      }
    }
    frame.append(holder);
    root.querySelector(".pv-details").innerHTML = msg.details;
    root.querySelector(".pv-fav").textContent = msg.favorite ? "★ Favourite" : "☆ Favourite";
    root.querySelector(".pv-full").style.display = msg.original ? "" : "none";
    root.querySelector(".pv-similar").style.display = msg.similar ? "" : "none";
    list.innerHTML = "";
    for (const name of msg.albums) {
      const o = document.createElement("option"); o.value = name; list.append(o);
    }
    for (const field of ["tag", "album", "place"]) root.querySelector(`.pv-${field}`).value = "";
    root.querySelector(".pv-date").value = msg.taken_at;
    rate.value = "";
    root.dataset.photo = msg.id;
    root.style.display = "flex";
    root.focus();
  });
}
export default { render };
"""

VIEWER_CSS = """
.photolab-viewer { position: fixed; inset: 0; z-index: 1000; background: #111; color: #eee;
                   display: flex; font-family: sans-serif; }
.pv-stage { position: relative; flex: 1; display: flex; align-items: center;
            justify-content: center; min-width: 0; }
.pv-frame { max-width: 100%; max-height: 100%; display: flex; }
.pv-holder { position: relative; display: inline-block; }
.pv-holder img, .pv-holder video { max-width: calc(100vw - 340px); max-height: 96vh;
                                    display: block; }
.pv-face { position: absolute; border: 2px solid #ffd54f; border-radius: 3px; }
.pv-face span { position: absolute; top: 100%; left: 0; background: #ffd54f; color: #111;
                font-size: 12px; padding: 0 4px; white-space: nowrap; }
.pv-prev, .pv-next, .pv-close { position: absolute; background: rgba(0,0,0,.4); color: #fff;
                                border: 0; font-size: 34px; cursor: pointer; padding: 4px 14px; }
.pv-prev { left: 6px; top: 50%; } .pv-next { right: 6px; top: 50%; }
.pv-close { right: 6px; top: 6px; font-size: 22px; }
.pv-side { width: 320px; overflow-y: auto; padding: 14px; background: #1c1c1c;
           font-size: 14px; line-height: 1.45; }
.pv-actions { display: flex; gap: 6px; flex-wrap: wrap; margin-bottom: 8px; }
.pv-actions button, .pv-actions select { background: #333; color: #eee; border: 1px solid #555;
                                         padding: 5px 9px; border-radius: 4px; }
.pv-notice { color: #ffab91; min-height: 1em; margin-bottom: 6px; }
.pv-field { display: flex; gap: 6px; margin-bottom: 6px; }
.pv-field input { flex: 1; min-width: 0; background: #262626; color: #eee;
                  border: 1px solid #555; border-radius: 4px; padding: 4px 6px; }
.pv-field button { background: #333; color: #eee; border: 1px solid #555;
                   border-radius: 4px; padding: 4px 9px; white-space: nowrap; }
.pv-row { margin-top: 7px; }
.pv-label { color: #999; font-size: 12px; }
.pv-value { word-break: break-word; }
@media (max-width: 700px) {
  .photolab-viewer { flex-direction: column; }
  .pv-holder img, .pv-holder video { max-width: 100vw; max-height: 62vh; }
  .pv-side { width: auto; flex: 1; }
}
"""
