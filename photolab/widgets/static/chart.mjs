// The browser side of photolab.widgets.places.ChartHook: a plain figure drawn by plotly's own
// extension beside this element (the first whose trace is of `trace`); a click on a sunburst's
// slice comes back as its id (`photolab-clickable` on the places box once clicks are heard),
// and a figure sent from the kernel is drawn again in place (Plotly.react, once plotly has
// drawn the figure the page came with).
function render({ model, el }) {
  let pending = null;
  const find = () => [...document.querySelectorAll(".js-plotly-plot")].find(
    (g) => g.data && g.data[0] && g.data[0].type === model.get("trace"));
  const hook = () => {
    const gd = find();
    const box = el.closest(".photolab-places");  // null until this element is on the page
    if (!gd || typeof gd.on !== "function" || !window.Plotly) return false;
    if (model.get("clicks") && !gd.photolabHooked) {
      if (!box) return false;
      gd.photolabHooked = true;
      gd.on("plotly_sunburstclick", (e) => {
        const p = e && e.points && e.points[0];
        if (p && p.id) model.send({ type: "place", id: p.id });
      });
      box.classList.add("photolab-clickable");
    }
    if (pending) {
      const f = pending;
      pending = null;
      window.Plotly.react(gd, f.data, f.layout, f.config);
    }
    return true;
  };
  const watch = () => {
    if (hook()) return;  // not on the page yet, or not drawn yet
    const seen = new MutationObserver(() => { if (hook()) seen.disconnect(); });
    seen.observe(document.body, { childList: true, subtree: true });
  };
  model.on("msg:custom", (msg) => {
    if (msg.type !== "figure") return;
    pending = msg.figure;
    watch();
  });
  watch();
  model.send({ type: "opened" });
}
export default { render };
