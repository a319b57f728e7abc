function render({ model, el }) {
  const grid = document.createElement("div");
  grid.className = "photolab-covers";
  const more = document.createElement("div");
  more.className = "photolab-more";
  el.append(grid, more);
  const urls = [];
  let busy = true, done = false;
  const request = () => { if (!busy && !done) { busy = true; model.send({ type: "more" }); } };
  new IntersectionObserver((es) => { if (es.some((e) => e.isIntersecting)) request(); },
                           { rootMargin: "400px" }).observe(more);
  model.on("msg:custom", (msg, buffers) => {
    if (msg.type !== "covers") return;
    earlyGone();
    if (msg.first) {
      urls.splice(0).forEach((u) => URL.revokeObjectURL(u));
      grid.innerHTML = "";
      if (!msg.items.length) grid.textContent = msg.empty;
    }
    msg.items.forEach((it, i) => {
      const card = document.createElement("figure");
      card.className = `photolab-cover photolab-${it.kind}`;
      card.title = it.title;
      const img = document.createElement("img");
      img.src = imageUrl(buffers[i], it.type, urls); img.alt = it.title;
      const cap = document.createElement("figcaption");
      cap.innerHTML = "<b></b><br><small></small>";
      cap.querySelector("b").textContent = it.title;
      cap.querySelector("small").textContent = it.subtitle;
      card.append(img, cap);
      card.addEventListener("click", () => model.send({ type: "open", key: it.key }));
      grid.append(card);
    });
    done = msg.done; busy = false;
    more.textContent = done ? "" : "loading…";
    if (!done && more.getBoundingClientRect().top < window.innerHeight + 400) request();
  });
  model.send({ type: "ready" });
}
export default { render };
