function render({ model }) {
  if (model.get("clears_early")) { earlyGone(); }
  model.send({ type: "opened" });
}
export default { render };
