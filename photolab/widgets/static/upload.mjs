// "Add photos": each picked file is PUT to the server's upload handler (photolab.server.uploads),
// one at a time, with its progress; the kernel is told which photos were added, then asked
// every few seconds until they are ingested.
const xsrf = () => (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1];

function send(file, url, line) {
  return new Promise((resolve) => {
    const req = new XMLHttpRequest();
    req.open("PUT", `${url}?name=${encodeURIComponent(file.name)}`);
    const token = xsrf();
    if (token) req.setRequestHeader("X-XSRFToken", decodeURIComponent(token));
    req.upload.onprogress = (e) => {
      if (e.lengthComputable) line.textContent = `${file.name}: ${Math.round(100 * e.loaded / e.total)}%`;
    };
    req.onload = () => {
      let answer = {};
      try { answer = JSON.parse(req.responseText); } catch (err) { answer = {}; }
      if (req.status !== 200) {
        answer = { status: "refused", reason: answer.message || req.statusText || `error ${req.status}` };
      }
      const said = { added: "added", already: "already in the library", refused: `not added: ${answer.reason}` };
      line.textContent = `${file.name}: ${said[answer.status] || answer.status}`;
      line.className = `photolab-upload-${answer.status}`;
      resolve(answer);
    };
    req.onerror = () => {
      line.textContent = `${file.name}: not sent (the network is gone); try again`;
      line.className = "photolab-upload-refused";
      resolve({ status: "refused" });
    };
    req.send(file);
  });
}

function render({ model, el }) {
  const url = new URL("../../photolab/upload", window.location.href).pathname;
  const box = document.createElement("div");
  box.className = "photolab-upload-box";
  const label = document.createElement("label");
  label.className = "photolab-upload-label";
  label.textContent = "Add photos";
  const input = document.createElement("input");
  input.type = "file";
  input.multiple = true;
  input.accept = "image/*,video/*";
  input.className = "photolab-upload";
  label.appendChild(input);
  const lines = document.createElement("div");
  lines.className = "photolab-upload-lines";
  box.append(label, lines);
  el.appendChild(box);
  let polling = null;
  const poll = () => {
    if (!model.get("waiting").length) { clearInterval(polling); polling = null; return; }
    model.send({ kind: "poll" });
  };
  input.addEventListener("change", async () => {
    const picked = Array.from(input.files);
    await fetch(url, { credentials: "same-origin" });  // its XSRF cookie, for the PUTs
    lines.replaceChildren();
    for (const file of picked) {
      const line = document.createElement("div");
      line.textContent = `${file.name}: waiting`;
      lines.appendChild(line);
      const answer = await send(file, url, line);
      if (answer.status === "added") model.send({ kind: "added", photo_ids: [answer.photo_id] });
      if (answer.status === "already" && answer.photo_id) model.send({ kind: "show", photo_id: answer.photo_id });
    }
    input.value = "";
    if (!polling) polling = setInterval(poll, 2000);
  });
  return () => polling && clearInterval(polling);
}

export default { render };
