function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "photolab-viewer";
  root.style.display = "none";
  root.tabIndex = -1;
  root.innerHTML = `
    <div class="pv-stage"><div class="pv-frame"></div>
      <span class="pv-raw photolab-raw" title="a camera RAW file is kept with this photo">RAW</span>
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
      <button class="pv-download-raw">Download RAW</button>
      <button class="pv-unpair" title="show the RAW file as a photo of its own">Unpair RAW</button>
      <button class="pv-similar">More like this</button>
      <button class="pv-faces-toggle">Faces</button>
      <button class="pv-draw" title="drag over a face the detector missed">Draw a face</button></div>
      <div class="pv-field pv-face-naming" style="display:none">
        <input class="pv-face-name" placeholder="Who is this?">
        <button class="pv-face-save">Save name</button></div>
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
  root.querySelector(".pv-download-raw").onclick = () => send("download", { raw: true });
  root.querySelector(".pv-unpair").onclick = () => send("unpair");
  root.querySelector(".pv-similar").onclick = () => send("similar");
  // faces: shown over the photo (a toggle), drawn by a drag (mouse or touch), named, removed
  let showFaces = false, drawing = false, pending = null;
  const naming = root.querySelector(".pv-face-naming");
  const nameInput = root.querySelector(".pv-face-name");
  root.querySelector(".pv-faces-toggle").onclick = () => {
    showFaces = !showFaces;
    root.classList.toggle("pv-faces-shown", showFaces);
  };
  root.querySelector(".pv-draw").onclick = () => {
    drawing = true;
    showFaces = true;
    root.classList.add("pv-faces-shown", "pv-drawing");
  };
  const saveName = () => {
    if (!pending) return;
    const name = nameInput.value.trim();
    if (pending.face_id !== undefined) send("name_face", { face_id: pending.face_id, name });
    else send("add_face", { box: pending.box, name });
    pending = null;
    naming.style.display = "none";
  };
  root.querySelector(".pv-face-save").onclick = saveName;
  nameInput.addEventListener("keydown", (e) => { if (e.key === "Enter") saveName(); });
  const ask = (what, name) => {
    pending = what;
    nameInput.value = name || "";
    naming.style.display = "";
    nameInput.focus();
  };
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
        b.className = "pv-face photolab-face-box";
        b.dataset.face = f.id;
        Object.assign(b.style, { left: `${f.left * 100}%`, top: `${f.top * 100}%`,
                                 width: `${f.width * 100}%`, height: `${f.height * 100}%` });
        const n = document.createElement("span");
        n.className = "pv-face-label";
        n.textContent = f.name || "who?";
        n.onclick = () => ask({ face_id: f.id }, f.name);
        b.append(n);
        if (msg.editable) {
          const x = document.createElement("button");
          x.className = "pv-face-remove"; x.title = "not a face"; x.textContent = "×";
          x.onclick = () => send("remove_face", { face_id: f.id });
          b.append(x);
        }
        holder.append(b);
      }
      // a drag over the photo draws a face (pointer events: a mouse, a finger)
      let start = null, box = null;
      const at = (e) => {
        const r = shown.getBoundingClientRect();
        return [Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1),
                Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1)];
      };
      holder.addEventListener("pointerdown", (e) => {
        if (!drawing || e.target.closest(".pv-face")) return;
        e.preventDefault();
        holder.setPointerCapture(e.pointerId);
        start = at(e);
        box = document.createElement("div");
        box.className = "pv-face pv-face-new";
        holder.append(box);
      });
      holder.addEventListener("pointermove", (e) => {
        if (!start) return;
        const [x, y] = at(e);
        Object.assign(box.style, {
          left: `${Math.min(x, start[0]) * 100}%`, top: `${Math.min(y, start[1]) * 100}%`,
          width: `${Math.abs(x - start[0]) * 100}%`, height: `${Math.abs(y - start[1]) * 100}%` });
      });
      holder.addEventListener("pointerup", (e) => {
        if (!start) return;
        const [x, y] = at(e);
        const [l, t, r, b] = [Math.min(x, start[0]), Math.min(y, start[1]),
                              Math.max(x, start[0]), Math.max(y, start[1])];
        start = null;
        drawing = false;
        root.classList.remove("pv-drawing");
        if (r - l < 0.01 || b - t < 0.01) { box.remove(); return; }  // a click, not a box
        ask({ box: [t, r, b, l] }, "");
      });
    }
    frame.append(holder);
    root.querySelector(".pv-details").innerHTML = msg.details;
    root.querySelector(".pv-fav").textContent = msg.favorite ? "★ Favourite" : "☆ Favourite";
    root.querySelector(".pv-full").style.display = msg.original ? "" : "none";
    root.querySelector(".pv-similar").style.display = msg.similar ? "" : "none";
    // a shared album's page: no changes, downloads and faces only where its share allows
    const show = (sel, on) => { root.querySelector(sel).style.display = on ? "" : "none"; };
    show(".pv-download", msg.download !== false);
    show(".pv-download-raw", msg.raw_download === true);
    show(".pv-raw", msg.raw === true);
    show(".pv-unpair", msg.paired === true && msg.editable === true);
    show(".pv-fav", msg.changes !== false);
    show(".pv-rate", msg.changes !== false);
    show(".pv-edit", msg.changes !== false);
    show(".pv-faces-toggle", msg.changes !== false || msg.faces.length > 0);
    list.innerHTML = "";
    for (const name of msg.albums) {
      const o = document.createElement("option"); o.value = name; list.append(o);
    }
    for (const field of ["tag", "album", "place"]) root.querySelector(`.pv-${field}`).value = "";
    root.querySelector(".pv-date").value = msg.taken_at;
    rate.value = "";
    for (const b of root.querySelectorAll(".pv-draw, .pv-face-remove")) {
      b.style.display = msg.editable ? "" : "none";
    }
    naming.style.display = "none";
    pending = null;
    root.dataset.photo = msg.id;
    root.style.display = "flex";
    root.focus();
  });
}
export default { render };
