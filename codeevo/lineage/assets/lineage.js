// codeevo lineage page: a pannable, zoomable commit graph of one run, drawn on a canvas.
// Everything it shows is in the #data block; it loads nothing. Candidate text is shown
// through textContent only (programs are untrusted).
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("data").textContent);
  const nodes = data.nodes;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const ROW = 22, LANE = 16, PAD = 24, R = 5;
  const LABEL_X = (data.lanes + 1) * LANE;
  const COLOUR = { ok: "#2e8b57", rejected: "#b8860b", failed: "#c0392b", timeout: "#8e44ad",
                   oom: "#8e44ad", crashed: "#c0392b" };
  const canvas = document.getElementById("graph");
  const ctx = canvas.getContext("2d");
  const panel = document.getElementById("panel");
  const view = { s: 1, x: PAD, y: PAD }; // screen = world * s + (x, y)
  let selected = null;
  let ancestry = new Set();

  document.getElementById("title").textContent = data.title;
  document.getElementById("stats").textContent =
    `${nodes.length} candidates · best ${data.best || "none"} · exported ${data.made}`;

  // ---------------------------------------------------------------- drawing

  function size() {
    const r = canvas.getBoundingClientRect();
    return { w: r.width, h: r.height };
  }

  function resize() {
    const d = window.devicePixelRatio || 1;
    const { w, h } = size();
    canvas.width = Math.max(1, Math.round(w * d));
    canvas.height = Math.max(1, Math.round(h * d));
    draw();
  }

  const X = (n) => n.lane * LANE;
  const Y = (n) => n.row * ROW;

  function draw() {
    const d = window.devicePixelRatio || 1;
    const { w, h } = size();
    ctx.setTransform(d, 0, 0, d, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.save();
    ctx.translate(view.x, view.y);
    ctx.scale(view.s, view.s);
    const r0 = Math.max(0, Math.floor(-view.y / view.s / ROW) - 1);
    const r1 = Math.min(nodes.length - 1, Math.ceil((h - view.y) / view.s / ROW) + 1);
    ctx.lineWidth = 1.5 / Math.max(view.s, 0.25);
    for (const n of nodes) { // primary edges crossing the rows in view
      if (n.prow === null || n.row < r0 || n.prow > r1) continue;
      const p = nodes[n.prow];
      ctx.strokeStyle = ancestry.has(n.id) && ancestry.has(p.id) ? "#6a3fb5" : "#9a9aa6";
      ctx.beginPath();
      ctx.moveTo(X(p), Y(p));
      if (p.lane === n.lane) {
        ctx.lineTo(X(n), Y(n));
      } else {
        ctx.lineTo(X(p), Y(n) - ROW / 2);
        ctx.quadraticCurveTo(X(p), Y(n), X(p) + LANE / 2, Y(n));
        ctx.lineTo(X(n), Y(n));
      }
      ctx.stroke();
    }
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = "#b07cd8";
    for (const [a, b] of data.merges) { // second parents: dashed curves
      const p = byId.get(a), c = byId.get(b);
      if (!p || !c || Math.max(p.row, c.row) < r0 || Math.min(p.row, c.row) > r1) continue;
      const bend = LABEL_X - LANE / 2;
      ctx.beginPath();
      ctx.moveTo(X(p), Y(p));
      ctx.bezierCurveTo(bend, Y(p), bend, Y(c), X(c), Y(c));
      ctx.stroke();
    }
    ctx.setLineDash([]);
    for (let i = r0; i <= r1; i++) {
      const n = nodes[i];
      ctx.beginPath();
      ctx.arc(X(n), Y(n), R, 0, 2 * Math.PI);
      ctx.fillStyle = COLOUR[n.status] || "#777";
      ctx.fill();
      if (n.id === data.best || n === selected) {
        ctx.lineWidth = 2.5 / Math.max(view.s, 0.25);
        ctx.strokeStyle = n === selected ? "#ffb000" : "#d4a017";
        ctx.beginPath();
        ctx.arc(X(n), Y(n), R + 3, 0, 2 * Math.PI);
        ctx.stroke();
        ctx.lineWidth = 1.5 / Math.max(view.s, 0.25);
      }
    }
    if (view.s * ROW >= 11) {
      ctx.font = "12px ui-monospace, Menlo, monospace";
      ctx.textBaseline = "middle";
      for (let i = r0; i <= r1; i++) {
        const n = nodes[i];
        const score = n.ok ? n.score.toFixed(4) : `${n.status}@${n.stage || "-"}`;
        const second = n.parents.slice(1).map((p) => ` ×${p}`).join("");
        ctx.fillStyle = n === selected ? "#000" : ancestry.has(n.id) ? "#6a3fb5" : "#333";
        const star = n.id === data.best ? " ★ best" : "";
        ctx.fillText(`${(n.commit || "").slice(0, 7)} ${n.id} ${n.op} i${n.island} ${score}` +
                     `${second}${star}`, LABEL_X, Y(n));
      }
    }
    ctx.restore();
  }

  // ---------------------------------------------------------------- view changes

  function zoomAt(factor, sx, sy) {
    const s = Math.min(8, Math.max(0.01, view.s * factor));
    const f = s / view.s;
    view.x = sx - (sx - view.x) * f;
    view.y = sy - (sy - view.y) * f;
    view.s = s;
    draw();
  }

  function centre(n) {
    const { w, h } = size();
    view.x = w / 3 - X(n) * view.s;
    view.y = h / 2 - Y(n) * view.s;
  }

  function fit() {
    const { w, h } = size();
    const width = LABEL_X + 320, height = nodes.length * ROW + ROW;
    view.s = Math.min(2, Math.max(0.01, Math.min((w - 2 * PAD) / width, (h - 2 * PAD) / height)));
    view.x = PAD;
    view.y = PAD;
    draw();
  }

  function pick(sx, sy) {
    const wy = (sy - view.y) / view.s;
    const i = Math.round(wy / ROW);
    if (i < 0 || i >= nodes.length || Math.abs(wy - i * ROW) > ROW / 2) return null;
    return nodes[i];
  }

  let drag = null;
  canvas.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, moved: false };
    canvas.setPointerCapture(e.pointerId);
    canvas.classList.add("dragging");
    canvas.focus();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    view.x = drag.vx + dx;
    view.y = drag.vy + dy;
    draw();
  });
  canvas.addEventListener("pointerup", (e) => {
    canvas.classList.remove("dragging");
    const was = drag;
    drag = null;
    if (was && !was.moved) {
      const r = canvas.getBoundingClientRect();
      const n = pick(e.clientX - r.left, e.clientY - r.top);
      if (n) select(n.id);
    }
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = canvas.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  canvas.addEventListener("keydown", (e) => {
    const { w, h } = size();
    const step = 60;
    const keys = {
      "+": () => zoomAt(1.25, w / 2, h / 2), "=": () => zoomAt(1.25, w / 2, h / 2),
      "-": () => zoomAt(0.8, w / 2, h / 2), "f": fit,
      "ArrowUp": () => { view.y += step; draw(); }, "ArrowDown": () => { view.y -= step; draw(); },
      "ArrowLeft": () => { view.x += step; draw(); }, "ArrowRight": () => { view.x -= step; draw(); },
    };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
  window.addEventListener("resize", resize);

  const search = document.getElementById("search");
  search.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    const found = resolve(search.value);
    search.style.outline = found ? "" : "2px solid #c0392b";
    if (found) { select(found.id); centre(found); draw(); }
  });

  function resolve(text) {
    const t = text.trim().toLowerCase();
    if (!t) return null;
    if (t === "best") return byId.get(data.best) || null;
    if (byId.has(t)) return byId.get(t);
    if (/^\d+$/.test(t)) {
      const id = "c" + t.padStart(6, "0");
      if (byId.has(id)) return byId.get(id);
    }
    if (/^[0-9a-f]{4,40}$/.test(t)) {
      const hits = nodes.filter((n) => n.commit && n.commit.startsWith(t));
      if (hits.length === 1) return hits[0];
    }
    return null;
  }

  // ---------------------------------------------------------------- details

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function link(id) {
    const a = el("a", id);
    a.addEventListener("click", () => { select(id); centre(byId.get(id)); draw(); });
    return a;
  }

  function table(rows) {
    const t = el("table");
    for (const [k, v] of rows) {
      const tr = el("tr");
      tr.append(el("td", k));
      const td = el("td");
      if (v instanceof Node) td.append(v); else td.textContent = v;
      tr.append(td);
      t.append(tr);
    }
    return t;
  }

  function links(ids) {
    const span = el("span");
    if (!ids.length) span.textContent = "—";
    ids.forEach((id, i) => { if (i) span.append(", "); span.append(link(id)); });
    return span;
  }

  const fmt = (v) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(6))
                                            : String(v));

  function select(id) {
    const n = byId.get(id);
    if (!n) return;
    selected = n;
    ancestry = new Set([n.id]);
    const stack = [...n.parents];
    while (stack.length) {
      const p = stack.pop();
      if (ancestry.has(p) || !byId.has(p)) continue;
      ancestry.add(p);
      stack.push(...byId.get(p).parents);
    }
    panel.replaceChildren();
    const head = el("h2", `${n.id} `);
    head.append(el("span", n.ok ? n.score.toFixed(4) : n.status, `status-${n.status}`));
    panel.append(head);
    const outcome = n.ok ? "ok" : `${n.status} at ${n.stage || "-"}${n.reason ? ": " + n.reason : ""}`;
    panel.append(table([
      ["commit", el("span", n.commit || "—", "mono")], ["operator", n.op],
      ["model", n.model || "— (offline)"], ["island", n.island], ["outcome", outcome],
      ["score", n.score === null ? "—" : fmt(n.score)],
      ["Δ parent", n.delta === null ? "—" : (n.delta >= 0 ? "+" : "") + n.delta.toFixed(4)],
      ["cost", `$${(n.cost || 0).toFixed(4)}`],
      ["tokens", Object.entries(n.tokens || {}).map(([k, v]) => `${k} ${v}`).join(", ") || "—"],
      ["parents", links(n.parents)], ["children", links(n.children)],
    ]));
    const metrics = Object.entries(n.metrics || {});
    panel.append(el("h3", "metrics"));
    panel.append(metrics.length ? table(metrics.map(([k, v]) => [k, fmt(v)]))
                                : el("p", "none", "muted"));
    const feats = Object.entries(n.features || {});
    if (feats.length) {
      panel.append(el("h3", "features"));
      panel.append(table(feats.map(([k, v]) => [k, fmt(v)])));
    }
    const program = data.programs[n.program];
    panel.append(el("h3", `program (${n.entry})`));
    panel.append(el("pre", program, "program"));
    if (!n.parents.length) panel.append(el("p", "a seed has no parent to diff against", "muted"));
    for (const pid of [...new Set(n.parents)]) {
      const p = byId.get(pid);
      if (!p) continue;
      const h = el("h3", "diff to ");
      h.append(link(pid));
      panel.append(h);
      panel.append(unified(data.programs[p.program], program, `${pid}/${p.entry}`,
                           `${n.id}/${n.entry}`));
    }
    draw();
  }

  // ---------------------------------------------------------------- line diff (Myers)

  function diffLines(a, b) {
    const n = a.length, m = b.length, max = n + m, off = max + 1;
    const v = new Int32Array(2 * max + 3);
    const trace = [];
    for (let d = 0; d <= max; d++) {
      if (d > 5000) return null;
      trace.push(v.slice());
      for (let k = -d; k <= d; k += 2) {
        let x = (k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]))
          ? v[off + k + 1] : v[off + k - 1] + 1;
        let y = x - k;
        while (x < n && y < m && a[x] === b[y]) { x++; y++; }
        v[off + k] = x;
        if (x >= n && y >= m) return walkBack(trace, a, b, d, off);
      }
    }
    return null;
  }

  function walkBack(trace, a, b, dEnd, off) {
    let x = a.length, y = b.length;
    const out = [];
    for (let d = dEnd; d > 0; d--) {
      const v = trace[d];
      const k = x - y;
      const pk = (k === -d || (k !== d && v[off + k - 1] < v[off + k + 1])) ? k + 1 : k - 1;
      const px = v[off + pk], py = px - pk;
      while (x > px && y > py) { out.push([" ", a[x - 1]]); x--; y--; }
      if (x === px) { out.push(["+", b[y - 1]]); y--; } else { out.push(["-", a[x - 1]]); x--; }
    }
    while (x > 0 && y > 0) { out.push([" ", a[x - 1]]); x--; y--; }
    return out.reverse();
  }

  function unified(oldText, newText, oldName, newName) {
    const pre = el("pre", null, "diff");
    const a = oldText.split("\n"), b = newText.split("\n");
    const ops = diffLines(a, b);
    if (ops === null) { pre.textContent = "(the programs differ too much to diff here)"; return pre; }
    if (!ops.some(([t]) => t !== " ")) { pre.textContent = "(identical programs)"; return pre; }
    pre.append(el("span", `--- ${oldName}`, "ctx"), el("span", `+++ ${newName}`, "ctx"));
    const CONTEXT = 3;
    const keep = ops.map(() => false);
    ops.forEach(([t], i) => {
      if (t === " ") return;
      for (let j = Math.max(0, i - CONTEXT); j <= Math.min(ops.length - 1, i + CONTEXT); j++) keep[j] = true;
    });
    let i = 0, ai = 0, bi = 0;
    while (i < ops.length) {
      if (!keep[i]) { if (ops[i][0] !== "+") ai++; if (ops[i][0] !== "-") bi++; i++; continue; }
      let j = i, an = 0, bn = 0;
      while (j < ops.length && keep[j]) { if (ops[j][0] !== "+") an++; if (ops[j][0] !== "-") bn++; j++; }
      pre.append(el("span", `@@ -${ai + 1},${an} +${bi + 1},${bn} @@`, "hunk"));
      for (let k = i; k < j; k++) {
        const [t, line] = ops[k];
        pre.append(el("span", t + line, t === "+" ? "add" : t === "-" ? "del" : "ctx"));
      }
      ai += an; bi += bn; i = j;
    }
    return pre;
  }

  // ---------------------------------------------------------------- start

  window.codeevoLineage = {
    select: (id) => { select(id); centre(byId.get(id)); draw(); },
    selected: () => (selected ? selected.id : null),
    view: () => ({ s: view.s, x: view.x, y: view.y }),
    screenOf: (id) => { // client coordinates of a node's centre (for tests and links)
      const n = byId.get(id), r = canvas.getBoundingClientRect();
      return { x: r.left + view.x + X(n) * view.s, y: r.top + view.y + Y(n) * view.s };
    },
    centre: (id) => { centre(byId.get(id)); draw(); },
    count: nodes.length,
  };
  resize();
  if (data.best && byId.has(data.best)) centre(byId.get(data.best));
  draw();
})();
