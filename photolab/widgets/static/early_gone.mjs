// Removes the page's early thumbnails (photolab.widgets.early), with their output box, once
// a widget shows its own.
const earlyGone = () => document.querySelectorAll(".photolab-early").forEach(
  (e) => (e.closest(".jp-OutputArea-child") || e).remove());
