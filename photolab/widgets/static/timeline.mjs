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
  // a page that changes nothing (a shared album's) offers no selection for an album
  const offer = () => { pick.style.display = model.get("selectable") ? "" : "none"; };
  offer();
  model.on("change:selectable", offer);
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
    earlyGone();
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
