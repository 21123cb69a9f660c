/* tconv's interactive explainer page. It computes nothing: every number drawn comes from the JSON of
   GET /api/explain (the JSON of `tconv explain --json`), or, in Jupyter, from the JSON embedded in the
   cell. The only arithmetic here is layout: which cells a stamp or a window covers (at + t·d). */
(function () {
  "use strict";
  const FIELDS = [
    ["input", "input x", "matrix: rows split by ';', values by spaces; channels by '|'"],
    ["kernel", "kernel w", "matrix; for channels, C_in × C_out/groups blocks split by '|'"],
    ["stride", "stride", "2 or 2,1 per axis"],
    ["padding", "padding", "crop: 1, 1,0, same, valid, or begin:end per axis (1:0,0:1)"],
    ["output_padding", "output_padding", "0 ≤ op < max(stride, dilation)"],
    ["dilation", "dilation", "spacing of the kernel taps"],
    ["groups", "groups", "for channels"],
  ];
  const METHODS = ["all", "scatter", "zero_insert", "matrix", "gemm", "polyphase"];

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  }
  // Numbers as the terminal prints them: whole numbers as they are, others to 4 significant digits.
  function fmt(v) {
    if (typeof v === "boolean") return String(v);
    if (Number.isInteger(v)) return String(v);
    const s = String(Number(v.toPrecision(4)));
    return s === "-0" ? "0" : s;
  }
  const as2d = (a) => (Array.isArray(a[0]) ? a : [a]);
  const flat = (a) => as2d(a).flat();
  const vmaxOf = (a) => Math.max(0, ...flat(a).map((v) => Math.abs(v)));
  function shade(v, vmax) {
    if (!vmax || !v) return "";
    const t = 0.15 + 0.55 * Math.min(Math.abs(v) / vmax, 1);
    const [r, g, b] = v > 0 ? [66, 133, 244] : [219, 68, 55];
    const mix = (c) => Math.round(255 + (c - 255) * t);
    return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
  }
  // Cells covered by a stamp or window starting at `at`: at + t·d for t < k, per axis.
  function region(at, k, d) {
    const axes = at.map((a, i) => Array.from({ length: k[i] }, (_, t) => a + t * d[i]));
    return (idx) => idx.every((v, i) => axes[i].includes(v));
  }

  /* A grid as a table. opts: id, caption, mark(idx) -> bool, mark2(idx), text(idx, v), vmax, index (data-index). */
  function grid(arr, opts = {}) {
    const one = !Array.isArray(arr[0]);
    const rows = as2d(arr);
    const vmax = opts.vmax ?? vmaxOf(arr);
    const table = el("table", { class: "grid" + (opts.cls ? " " + opts.cls : ""), id: opts.id });
    if (opts.caption) table.append(el("caption", { text: opts.caption }));
    const body = el("tbody");
    rows.forEach((row, r) => {
      const tr = el("tr");
      row.forEach((v, c) => {
        const idx = one ? [c] : [r, c];
        const text = opts.text ? opts.text(idx, v) : fmt(v);
        const td = el("td", { text, title: idx.join(",") + ": " + fmt(v) });
        if (text !== "." && text !== "") td.style.background = shade(v, vmax);
        if (text === ".") td.className = "pad";
        if (opts.mark && opts.mark(idx)) td.classList.add("mark");
        if (opts.mark2 && opts.mark2(idx)) td.classList.add("kept");
        if (opts.index) {
          td.dataset.index = idx.join(",");
          td.dataset.value = String(v);
        }
        tr.append(td);
      });
      body.append(tr);
    });
    table.append(body);
    return table;
  }
  const row = (...kids) => el("div", { class: "row" }, ...kids);
  const p = (text) => el("p", { text });
  function panel(id, title, ...kids) {
    return el("section", { class: "panel", id, "aria-labelledby": id + "-h" }, el("h2", { id: id + "-h", text: title }), ...kids);
  }

  /* A step-through: play / pause / back / step and a slider over n frames; draw(i) returns the frame. */
  function stepper(id, n, draw) {
    let i = 0, timer = null;
    const view = el("div", { class: "frame", "aria-live": "polite" });
    const slider = el("input", { type: "range", min: 0, max: n - 1, value: 0, id: id + "-slider" });
    const label = el("label", { for: id + "-slider", text: "step" });
    const count = el("span", { class: "count" });
    const play = el("button", { type: "button", id: id + "-play", text: "▶ play" });
    const back = el("button", { type: "button", id: id + "-back", "aria-label": "previous step", text: "◀" });
    const next = el("button", { type: "button", id: id + "-next", "aria-label": "next step", text: "step ▶" });
    function show(j) {
      i = Math.max(0, Math.min(n - 1, j));
      slider.value = i;
      count.textContent = `${i + 1} / ${n}`;
      view.replaceChildren(draw(i));
      view.dataset.step = i;
    }
    function stop() { clearInterval(timer); timer = null; play.textContent = "▶ play"; }
    play.addEventListener("click", () => {
      if (timer) return stop();
      if (i === n - 1) show(0);
      play.textContent = "⏸ pause";
      timer = setInterval(() => { show(i + 1); if (i === n - 1) stop(); }, 900);  // stops on the last frame
    });
    back.addEventListener("click", () => { stop(); show(i - 1); });
    next.addEventListener("click", () => { stop(); show(i + 1); });
    slider.addEventListener("input", () => { stop(); show(+slider.value); });
    const box = el("div", { class: "stepper", id, tabindex: 0 }, el("div", { class: "controls" }, back, play, next, label, slider, count), view);
    box.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowRight") { stop(); show(i + 1); ev.preventDefault(); }
      if (ev.key === "ArrowLeft") { stop(); show(i - 1); ev.preventDefault(); }
    });
    show(0);
    return box;
  }

  function shapePanel(d) {
    const s = d.steps.shape;
    const axes = s.axes.map((a, n) => el("li", {}, el("code", { text: a.numbers }), s.axes.length > 1 ? ` (axis ${n}: i=${a.i} k=${a.k} s=${a.s} d=${a.d}, F=${a.full}, b=${a.begin}, e=${a.end})` : ` (F=${a.full}, b=${a.begin}, e=${a.end})`));
    return panel("shape", "Output size", el("p", {}, el("code", { text: s.axes[0].formula })), el("ul", {}, axes), ...s.notes.map(p));
  }

  function channelsPanel(d) {
    const c = d.steps.channels;
    const kids = [p(`${c.in_channels} input channels, ${c.out_channels} output channels, groups ${c.groups}: weight (${c.weight_shape.join(", ")}) = (C_in, C_out/groups, k…). Output channel c adds up conv_transpose(x[ci], w[ci, c mod C_out/groups]) over the input channels of its group.`)];
    for (const o of c.outputs) {
      const parts = o.contributions.map((k) => grid(k.partial, { caption: `x[${k.in_channel}] ∗ w[${k.kernel_index}]` }));
      const plus = [];
      parts.forEach((t, n) => plus.push(n ? el("span", { class: "op", text: "+" }) : null, t));
      kids.push(el("h3", { text: `y[${o.channel}] — group ${o.group}, input channel${o.in_channels.length > 1 ? "s" : ""} ${o.in_channels.join(", ")}` }), row(...plus, el("span", { class: "op", text: "=" }), grid(o.output, { caption: `y[${o.channel}]` })));
    }
    if (c.more_outputs) kids.push(p(`… ${c.more_outputs} more output channels`));
    kids.push(p("The method panels below show one channel: x[0] through w[0, 0]."));
    return panel("channels", "Channels and groups", ...kids);
  }

  const same = (v) => (v.every((x) => x === v[0]) ? String(v[0]) : v.join(","));
  function one(d, key) { return d.geometry.in_channels > 1 || d.steps.channels ? (key === "input" ? d.input[0] : d.kernel[0][0]) : d[key]; }

  function scatterPanel(d) {
    const s = d.steps.scatter, g = d.geometry, x = one(d, "input");
    const vmax = vmaxOf(s.full);
    const n = s.stamps.length;
    const view = stepper("scatter-steps", n, (i) => {
      const st = s.stamps[i];
      const touched = region(st.at, g.kernel, g.dilation);
      return el("div", {},
        p(`x[${st.index}] = ${fmt(st.value)} → ${fmt(st.value)}·w added at (${st.index}) × stride = (${st.at})`),
        row(grid(x, { caption: "x", mark: (idx) => idx.join() === st.index.join() }),
          grid(st.stamp, { caption: "stamp = value · w", vmax }),
          grid(st.sum, { caption: "running sum F", mark: touched, vmax, cls: "sum" })));
    });
    const more = s.more ? p(`… and ${s.more} more stamps, not stepped through here (${s.more + n} in all).`) : null;
    return panel("scatter", "Scatter: each input element stamps value × kernel at position × stride", view, more);
  }

  function zeroInsertPanel(d) {
    const z = d.steps.zero_insert, g = d.geometry;
    const text = (idx, v) => (as2d(z.origin)[idx.length === 1 ? 0 : idx[0]][idx[idx.length - 1]] === 0 ? "." : fmt(v));
    const out = as2d(z.output);
    const order = z.windows.map((w) => w.out.join());
    const view = stepper("zero-insert-steps", z.windows.length, (i) => {
      const w = z.windows[i];
      const done = new Set(order.slice(0, i + 1));
      const terms = flat(w.patch).map((v, t) => `${fmt(v)}·${fmt(flat(z.flipped)[t])}`).join(" + ");
      return el("div", {},
        p(`y[${w.out}] = ${terms} = ${fmt(w.sum)}`),
        row(grid(z.padded, { caption: "padded, zero-inserted P ('.' padding)", text, mark: region(w.out, g.kernel, g.dilation) }),
          grid(z.flipped, { caption: "flip(w)", cls: "flipped" }),
          grid(z.output, { caption: "y so far", text: (idx, v) => (done.has(idx.join()) ? fmt(v) : ""), mark: (idx) => idx.join() === w.out.join(), vmax: vmaxOf(out) })));
    });
    const trap = z.symmetric ? p("w is symmetric under the flip, so forgetting the flip would not show here; try a kernel like 1 2 3.")
      : row(grid(z.output, { caption: "y (with flip(w))" }), grid(z.unflipped_output, { caption: "without the flip (wrong)", cls: "wrong" }));
    return panel("zero-insert", "Zero insertion: insert zeros, pad, convolve with the flipped kernel",
      p(`Insert stride−1 zeros between neighbours, pad k_eff−1−b before and k_eff−1−e+op after (${z.pad_before} before, ${z.pad_after} after), then slide flip(w) over it.`),
      row(grid(z.stretched, { caption: "zero-inserted" }), grid(one(d, "kernel"), { caption: "w" }), grid(z.flipped, { caption: "flip(w)", cls: "flipped" })),
      view, trap, p(`${z.zero_multiplications} of ${z.multiplications} multiplications read an inserted or padding zero.`));
  }

  function matrixPanel(d) {
    const m = d.steps.matrix;
    if (!m.C) return panel("matrix", "Matrix: conv is a matrix C, conv_transpose is Cᵀ", p(`C would be ${m.rows}×${m.columns}: too big to draw.`));
    return panel("matrix", "Matrix: conv is a matrix C, conv_transpose is Cᵀ",
      p(`C has a row per input position (${m.rows}) and a column per output position (${m.columns}); row i holds w where input i's stamp lands.`),
      grid(m.C, { caption: `C (${m.rows}×${m.columns})` }), row(grid(m.x, { caption: "x, flattened" }), grid(m.Ct_x, { caption: "Cᵀx: the output, flattened" })));
  }

  function gemmPanel(d) {
    const m = d.steps.gemm;
    return panel("gemm", "GEMM + col2im: all stamps as one matrix product",
      p("cols[t, i] = w[t]·x[i]: one matrix product, one column per stamp, one row per tap t; col2im then adds row t at positions i·s + t·d − b."),
      m.columns ? grid(m.columns, { caption: `column buffer cols (${m.shape.join("×")})` }) : p(`cols would be ${m.shape.join("×")}: too big to draw.`),
      p(`Rows, top to bottom, are the taps t = ${m.taps.slice(0, 12).map((t) => "(" + t + ")").join(" ")}${m.taps.length > 12 ? " …" : ""}; columns are the input positions.`));
  }

  function polyphasePanel(d) {
    const s = d.steps.polyphase;
    const kids = s.phases.slice(0, 16).map((ph) => el("div", { class: "phase" },
      el("h3", { text: `phase ${ph.phase}: y[${ph.first.map((f, a) => f + "::" + d.geometry.stride[a])}] — taps ${ph.taps.map((t) => "{" + t + "}").join(" × ")}` }),
      ph.count ? row(grid(ph.sub_kernel, { caption: "sub-kernel" }), grid(ph.values, { caption: "its outputs" })) : p("no tap: these outputs stay 0")));
    return panel("polyphase", "Polyphase: one sub-kernel per output phase", el("div", { class: "row" }, kids),
      p(s.even ? "Every phase has the same number of taps: even overlap." : `Taps per phase differ (${s.counts}): uneven overlap, the source of checkerboard artifacts.`));
  }

  function cropPanel(d) {
    const s = d.steps.scatter;
    const shape = [as2d(s.full).length, as2d(s.full)[0].length];
    const one1 = !Array.isArray(s.full[0]);
    const kept = (idx) => idx.every((v, a) => v >= s.begin[a] && v < (one1 ? shape[1] : shape[a]) - s.end[a]);
    const cropped = s.begin.some((b) => b) || s.end.some((e) => e);
    const appended = s.output_padding.some((o) => o) ? `, then output_padding ${same(s.output_padding)} zeros are appended at the end` : "";
    return panel("crop", "The crop: padding cuts the full output",
      p(cropped ? `The output is the part of F kept after cropping b = ${same(s.begin)} at the start and e = ${same(s.end)} at the end of each axis (a negative e appends zeros)${appended}.`
        : `No crop here (b = e = 0): the whole of F is the output${appended}. Try padding 1.`),
      row(grid(s.full, { caption: "full output F (kept part outlined)", mark2: kept }), grid(d.steps.result.output, { caption: "output" })));
  }

  function overlapPanel(d) {
    const o = d.steps.result.overlap;
    return panel("overlap", "Overlap map: how many taps land on each output",
      grid(o, { caption: "taps per output position", cls: "heat" }),
      p("Where neighbouring counts differ in the interior, a constant input gives a checkerboard (Odena, Dumoulin & Olah 2016). A kernel size divisible by the stride makes it even."));
  }

  function adjointPanel(d) {
    const a = d.steps.adjoint, ex = a.orthonormal_example;
    let what;
    if (a.identity === null) what = "C is too big to write out here.";
    else if (a.identity) what = "C Cᵀ = I: the rows of C are orthonormal, so conv undoes conv_transpose for every x.";
    else if (a.scale !== null) what = `C Cᵀ = ${fmt(a.scale)}·I: the stamps never meet and none is cropped, so conv(y) = ${fmt(a.scale)}·x for every x.`;
    else if (a.diagonal) what = "C Cᵀ is diagonal (no two stamps meet on non-zero taps) but not a multiple of I: conv(y) is x scaled position by position.";
    else what = "Off the diagonal of C Cᵀ: the overlaps of neighbouring stamps (Σ w[t]·w[t'] where they land on the same output).";
    return panel("adjoint", "Adjoint, not inverse: conv(y) next to x",
      row(grid(a.conv_of_output, { caption: "conv(y) = C Cᵀ x" }), grid(a.input, { caption: "x" }), a.CCt && a.CCt.length <= 16 ? grid(a.CCt, { caption: "C Cᵀ" }) : null),
      p(a.equal ? "conv(y) equals x here." : "conv(conv_transpose(x)) = C Cᵀ x is not x: conv_transpose is the adjoint of conv, not its inverse."),
      p(what),
      p(`With your stride ${same(ex.stride)}${ex.dilation.some((v) => v !== 1) ? " and dilation " + same(ex.dilation) : ""}, w' = ${fmt(flat(ex.kernel)[0])} on ${as2d(ex.kernel)[0].length}${Array.isArray(ex.kernel[0]) ? "×" + ex.kernel.length : ""} taps has orthonormal rows: ` + (ex.kept_padding ? `with your padding ${ex.padding}, ` : `${ex.why}; `) + "conv(conv_transpose(x, w'), w') = x:"),
      row(grid(ex.conv_transpose, { caption: "y' = conv_transpose(x, w')" }), grid(ex.conv_back, { caption: "conv(y', w')" })));
  }

  function resultPanel(d) {
    const r = d.steps.result;
    const outs = d.steps.channels
      ? el("div", { id: "output", class: "row" }, r.output.map((ch, c) => grid(ch, { caption: `y[${c}]`, index: true, cls: "channel" })))
      : grid(r.output, { id: "output", index: true, caption: `output y (${d.output_shape.join("×")})` });
    if (d.steps.channels) outs.querySelectorAll("table").forEach((t, c) => t.querySelectorAll("td").forEach((td) => (td.dataset.index = c + "," + td.dataset.index)));
    const agree = Object.entries(r.methods).map(([m, ok]) => el("li", { class: ok ? "ok" : "bad", text: `${m}: ${ok ? "agrees" : "differs"}` }));
    const t = r.torch;
    return panel("result", "Result", outs, el("ul", { class: "methods" }, agree),
      p(t.available ? `PyTorch ${t.version}: ${t.call} ${t.equal ? "gives the same" : "differs"} (max |difference| ${fmt(t.max_abs_diff)})` : `PyTorch: ${t.call ? t.call + " — " : ""}${t.reason}`));
  }

  function draw(root, d) {
    const s = d.steps;
    const panels = [resultPanel(d), shapePanel(d)];
    if (s.channels) panels.push(channelsPanel(d));
    if (s.scatter) panels.push(scatterPanel(d), cropPanel(d));
    if (s.zero_insert) panels.push(zeroInsertPanel(d));
    if (s.matrix) panels.push(matrixPanel(d));
    if (s.gemm) panels.push(gemmPanel(d));
    if (s.polyphase) panels.push(polyphasePanel(d));
    panels.push(overlapPanel(d), adjointPanel(d));
    root.querySelector(".panels").replaceChildren(...panels);
  }

  const matrixText = (a) => (Array.isArray(a[0]) ? (Array.isArray(a[0][0]) ? a.map(matrixText).join(" | ") : a.map((r) => r.join(" ")).join("; ")) : a.join(" "));
  function kernelText(d) { return d.steps.channels ? d.kernel.flat().map(matrixText).join(" | ") : matrixText(d.kernel); }
  function argText(v) { return Array.isArray(v) ? v.map((x) => (Array.isArray(x) ? x.join(":") : x)).join(",") : String(v); }

  function mount(root, opts) {
    const status = el("p", { class: "status", role: "alert", "aria-live": "assertive" });
    const form = el("form", { class: "controls-form", "aria-label": "the transposed convolution's arguments" });
    const inputs = {};
    for (const [name, label, hint] of FIELDS) {
      const tag = name === "input" || name === "kernel" ? "textarea" : "input";
      const field = el(tag, { id: "f-" + name, name, "aria-describedby": "h-" + name, spellcheck: "false", rows: tag === "textarea" ? 2 : null });
      inputs[name] = field;
      form.append(el("div", { class: "field" }, el("label", { for: "f-" + name, text: label }), field, el("small", { id: "h-" + name, text: hint })));
    }
    const method = el("select", { id: "f-method", name: "method" }, METHODS.map((m) => el("option", { value: m, text: m })));
    inputs.method = method;
    // PyTorch's check runs only when asked (torch=1), as `tconv explain --torch`: importing torch takes seconds.
    const torch = el("input", { type: "checkbox", id: "f-torch", name: "torch", title: "torch=1: also run PyTorch's conv_transpose on the same numbers and compare (imports torch: seconds)" });
    form.append(el("div", { class: "field" }, el("label", { for: "f-method", text: "method" }), method,
      el("label", { class: "check", for: "f-torch" }, torch, "PyTorch check")));
    root.append(form, status, el("div", { class: "panels" }));
    if (!opts.api) {
      form.hidden = true;
      status.textContent = "Run `tconv serve` to change the numbers with controls.";
    }
    function fill(d) {
      inputs.input.value = d.steps.channels ? d.input.map(matrixText).join(" | ") : matrixText(d.input);
      inputs.kernel.value = kernelText(d);
      for (const k of ["stride", "padding", "output_padding", "dilation"]) inputs[k].value = argText(d.arguments[k]);
      inputs.groups.value = d.arguments.groups ?? 1;
      inputs.method.value = d.method;
    }
    async function load(query, fillForm) {
      try {
        const res = await fetch(opts.api + "?" + query.toString());
        const body = await res.json();
        if (!res.ok) throw new Error(body.error || res.statusText);
        status.textContent = "";
        root.dataset.state = "ready";
        if (fillForm) fill(body);
        draw(root, body);
      } catch (err) {
        status.textContent = "error: " + err.message;
        root.dataset.state = "error";
      }
    }
    if (!opts.api) { draw(root, opts.data); root.dataset.state = "ready"; return; }
    let timer = null;
    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const q = new URLSearchParams();
        for (const [k, f] of Object.entries(inputs)) if (f.value.trim() !== "") q.set(k, f.value.trim());
        if (torch.checked) q.set("torch", "1");
        history.replaceState(null, "", "?" + q.toString());
        root.dataset.state = "loading";
        load(q, false);
      }, 300);
    });
    form.addEventListener("submit", (ev) => ev.preventDefault());
    const q = new URLSearchParams(location.search);
    for (const [k, f] of Object.entries(inputs)) if (q.has(k)) f.value = q.get(k);
    torch.checked = ["1", "true", "yes", "on"].includes((q.get("torch") || "").trim().toLowerCase());
    load(q, true);
  }
  window.tconvExplain = { mount };
})();
