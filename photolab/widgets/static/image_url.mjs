// The image of a tile or cover: a blob URL of its bytes (kept in `urls`, to be revoked), or,
// for a photo without a preview (type NONE), one URL that every such image shares. An SVG
// of its own for each tile is a document Chromium decodes and draws on the page's thread: a
// page of 60 such tiles took 0.7-1.1 s to append there, 60 sharing one URL 0.07-0.12 s
// (benchmarks/tiles.py). NO_PREVIEW_SVG and NONE are data photolab.widgets.front puts first.
const NO_PREVIEW = URL.createObjectURL(new Blob([NO_PREVIEW_SVG], { type: "image/svg+xml" }));
const imageUrl = (buffer, type, urls) => {
  if (type === NONE) return NO_PREVIEW;
  const u = URL.createObjectURL(new Blob([buffer], { type }));
  urls.push(u);
  return u;
};
