/* tconv's interactive explainer page. It computes nothing: every number drawn comes from the JSON of
   GET /api/explain (the JSON of `tconv explain --json`), or, in Jupyter, from the JSON embedded in the
   cell. The only arithmetic here is layout: which cells a stamp or a window covers (at + t·d).
   Every word comes from the language's catalogue (src/tconv/explainer/lang/<lang>.json), handed to
   mount() as opts.strings: T(key, values) fills its {name} placeholders, as tconv.explainer.i18n does. */
(function () {
  "use strict";
  const FIELDS = ["input", "kernel", "stride", "padding", "output_padding", "dilation", "groups"];
  // What an empty box means; shown in the box from the start, so an error at load leaves no box blank.
  const DEFAULTS = { stride: "1", padding: "0", output_padding: "0", dilation: "1", groups: "1", method: "all" };
  const METHODS = ["all", "scatter", "zero_insert", "matrix", "gemm", "polyphase"];
  let STRINGS = {};
  function T(key, values) {
    let entry = STRINGS[key];
    if (entry === undefined) return key;
    if (typeof entry === "object") entry = values && values.n === 1 ? entry.one : entry.other;
    return entry.replace(/\{(\w+)\}/g, (m, name) => (values && name in values ? String(values[name]) : m));
  }

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

  /* A grid as a table under its caption (a figure: the caption never stretches the cells).
     opts: id, caption, mark(idx) -> bool, mark2(idx), cell(idx, v) -> extra class, text(idx, v), vmax, index (data-index). */
  function grid(arr, opts = {}) {
    const one = !Array.isArray(arr[0]);
    const rows = as2d(arr);
    const vmax = opts.vmax ?? vmaxOf(arr);
    const table = el("table", { class: "grid" + (opts.cls ? " " + opts.cls : ""), id: opts.id });
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
        if (opts.cell && opts.cell(idx, v)) td.classList.add(opts.cell(idx, v));
        if (opts.index) {
          td.dataset.index = idx.join(",");
          td.dataset.value = String(v);
        }
        tr.append(td);
      });
      body.append(tr);
    });
    table.append(body);
    return el("figure", { class: "gridbox" }, opts.caption ? el("figcaption", { text: opts.caption }) : null, table);
  }
  const row = (...kids) => el("div", { class: "row" }, ...kids);
  const p = (text) => el("p", { text });
  function panel(id, title, ...kids) {
    return el("section", { class: "panel", id, "aria-labelledby": id + "-h" }, el("h2", { id: id + "-h", text: title }), ...kids);
  }
  const wide = (section) => { section.classList.add("wide"); return section; };

  /* A step-through: play / pause / back / step and a slider over n frames; draw(i) returns the frame. */
  function stepper(id, n, draw) {
    let i = 0, timer = null;
    const view = el("div", { class: "frame", "aria-live": "polite" });
    const slider = el("input", { type: "range", min: 0, max: n - 1, value: 0, id: id + "-slider" });
    const label = el("label", { for: id + "-slider", text: T("page.step") });
    const count = el("span", { class: "count" });
    const play = el("button", { type: "button", id: id + "-play", text: T("page.play") });
    const back = el("button", { type: "button", id: id + "-back", "aria-label": T("page.previous"), text: "◀" });
    const next = el("button", { type: "button", id: id + "-next", "aria-label": T("page.next"), text: T("page.next_button") });
    function show(j) {
      i = Math.max(0, Math.min(n - 1, j));
      slider.value = i;
      count.textContent = `${i + 1} / ${n}`;
      view.replaceChildren(draw(i));
      view.dataset.step = i;
    }
    function stop() { clearInterval(timer); timer = null; play.textContent = T("page.play"); }
    play.addEventListener("click", () => {
      if (timer) return stop();
      if (i === n - 1) show(0);
      play.textContent = T("page.pause");
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
    const axes = s.axes.map((a, n) => el("li", {}, el("code", { text: a.numbers }), " " + (s.axes.length > 1
      ? T("page.shape.axis", { n, i: a.i, k: a.k, s: a.s, d: a.d, F: a.full, b: a.begin, e: a.end })
      : T("page.shape.one", { F: a.full, b: a.begin, e: a.end }))));
    return panel("shape", s.title, el("p", {}, el("code", { text: s.axes[0].formula })), el("ul", {}, axes), ...s.notes.map(p));
  }

  function channelsPanel(d) {
    const c = d.steps.channels;
    const kids = [p(T("page.channels.intro", {
      inputs: T("text.n_input_channels", { n: c.in_channels }), outputs: T("text.n_output_channels", { n: c.out_channels }),
      groups: c.groups, shape: c.weight_shape.join(", ") }))];
    for (const o of c.outputs) {
      const parts = o.contributions.map((k) => grid(k.partial, { caption: `x[${k.in_channel}] ∗ w[${k.kernel_index}]` }));
      const plus = [];
      parts.forEach((t, n) => plus.push(n ? el("span", { class: "op", text: "+" }) : null, t));
      kids.push(el("h3", { text: T("page.channels.output", { c: o.channel, group: o.group, list: o.in_channels.join(", "), n: o.in_channels.length }) }),
        row(...plus, el("span", { class: "op", text: "=" }), grid(o.output, { caption: `y[${o.channel}]` })));
    }
    if (c.more_outputs) kids.push(p(T("page.channels.more", { n: c.more_outputs })));
    kids.push(p(T("page.channels.one")));
    return wide(panel("channels", T("page.channels.title"), ...kids));
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
        p(T("page.scatter.stamp", { i: st.index, v: fmt(st.value), at: st.at })),
        row(grid(x, { caption: "x", mark: (idx) => idx.join() === st.index.join() }),
          grid(st.stamp, { caption: T("page.scatter.stamp_caption"), vmax }),
          grid(st.sum, { caption: T("page.scatter.sum_caption"), mark: touched, vmax, cls: "sum" })));
    });
    const more = s.more ? p(T("page.scatter.more", { n: s.more, total: s.more + n })) : null;
    return wide(panel("scatter", s.title, view, more));
  }

  function zeroInsertPanel(d) {
    const z = d.steps.zero_insert, g = d.geometry;
    const text = (idx, v) => (as2d(z.origin)[idx.length === 1 ? 0 : idx[0]][idx[idx.length - 1]] === 0 ? "." : fmt(v));
    const out = as2d(z.output);
    const at = (a, idx) => as2d(a)[idx.length === 1 ? 0 : idx[0]][idx[idx.length - 1]];
    const order = z.windows.map((w) => w.out.join());
    const view = stepper("zero-insert-steps", z.windows.length, (i) => {
      const w = z.windows[i];
      const done = new Set(order.slice(0, i + 1));
      const terms = flat(w.patch).map((v, t) => `${fmt(v)}·${fmt(flat(z.flipped)[t])}`).join(" + ");
      return el("div", {},
        p(`y[${w.out}] = ${terms} = ${fmt(w.sum)}`),
        row(grid(z.padded, { caption: T("page.zero.padded_caption"), text, mark: region(w.out, g.kernel, g.dilation) }),
          grid(z.flipped, { caption: "flip(w)", cls: "flipped" }),
          grid(z.output, { caption: T("page.zero.so_far"), text: (idx, v) => (done.has(idx.join()) ? fmt(v) : ""), mark: (idx) => idx.join() === w.out.join(), vmax: vmaxOf(out) })));
    });
    // Only the cells that differ from the right answer are struck through.
    const trap = z.symmetric ? [p(T("page.zero.symmetric"))]
      : [row(grid(z.output, { caption: T("page.zero.right_caption") }),
        grid(z.unflipped_output, { caption: T("page.zero.wrong_caption"), cls: "wrong", cell: (idx, v) => (v !== at(z.output, idx) ? "differs" : "") })),
      p(T("page.zero.wrong_note"))];
    return wide(panel("zero-insert", z.title,
      p(T("page.zero.intro", { b: z.pad_before, a: z.pad_after })),
      row(grid(z.stretched, { caption: T("page.zero.inserted") }), grid(one(d, "kernel"), { caption: "w" }), grid(z.flipped, { caption: "flip(w)", cls: "flipped" })),
      view, ...trap, p(T("text.zero.wasted", { z: z.zero_multiplications, m: z.multiplications }))));
  }

  function matrixPanel(d) {
    const m = d.steps.matrix;
    if (!m.C) return panel("matrix", m.title, p(T("page.matrix.too_big", { rows: m.rows, cols: m.columns })));
    const section = panel("matrix", m.title,
      p(T("page.matrix.intro", { rows: m.rows, cols: m.columns })),
      grid(m.C, { caption: `C (${m.rows}×${m.columns})` }), row(grid(m.x, { caption: T("page.matrix.x") }), grid(m.Ct_x, { caption: T("page.matrix.ctx") })));
    return m.columns > 14 ? wide(section) : section;  // a wide C gets the whole row
  }

  function gemmPanel(d) {
    const m = d.steps.gemm;
    return panel("gemm", m.title,
      p(T("page.gemm.intro")),
      m.columns ? grid(m.columns, { caption: T("page.gemm.cols", { shape: m.shape.join("×") }) }) : p(T("page.gemm.too_big", { shape: m.shape.join("×") })),
      p(T("page.gemm.rows", { taps: m.taps.slice(0, 12).map((t) => "(" + t + ")").join(" ") + (m.taps.length > 12 ? " …" : "") })));
  }

  function polyphasePanel(d) {
    const s = d.steps.polyphase;
    const kids = s.phases.slice(0, 16).map((ph) => el("div", { class: "phase" },
      el("h3", { text: T("page.poly.phase", { p: ph.phase, where: ph.first.map((f, a) => f + "::" + d.geometry.stride[a]), taps: ph.taps.map((t) => "{" + t + "}").join(" × ") }) }),
      ph.count ? row(grid(ph.sub_kernel, { caption: T("text.poly.sub_kernel") }), grid(ph.values, { caption: T("text.poly.outputs") })) : p(T("page.poly.none"))));
    return panel("polyphase", T("page.poly.title"), el("div", { class: "row" }, kids),
      p(s.even ? T("page.poly.even") : T("page.poly.uneven", { counts: s.counts })));
  }

  function cropPanel(d) {
    const s = d.steps.scatter;
    const shape = [as2d(s.full).length, as2d(s.full)[0].length];
    const one1 = !Array.isArray(s.full[0]);
    const kept = (idx) => idx.every((v, a) => v >= s.begin[a] && v < (one1 ? shape[1] : shape[a]) - s.end[a]);
    const cropped = s.begin.some((b) => b) || s.end.some((e) => e);
    const appended = s.output_padding.some((o) => o) ? T("page.crop.appended", { op: same(s.output_padding) }) : "";
    // F is one channel's (x[0] through w[0, 0]), so the output beside it is that channel's too.
    const layer = Boolean(d.steps.channels);
    return panel("crop", T("page.crop.title"),
      p(cropped ? T("page.crop.cropped", { b: same(s.begin), e: same(s.end), appended }) : T("page.crop.none", { appended })),
      layer ? p(T("page.crop.one_channel")) : null,
      row(grid(s.full, { caption: T("page.crop.full"), mark2: kept }), grid(s.output, { caption: T(layer ? "page.crop.output_one" : "page.crop.output") })));
  }

  function overlapPanel(d) {
    const o = d.steps.result.overlap;
    return panel("overlap", T("page.overlap.title"),
      grid(o, { caption: T("page.overlap.caption"), cls: "heat" }),
      p(T("page.overlap.note")));
  }

  function adjointPanel(d) {
    const a = d.steps.adjoint, ex = a.orthonormal_example;
    let what;
    if (a.identity === null) what = T("page.adj.too_big");
    else if (a.identity) what = T("text.adjoint.cct_identity");
    else if (a.scale !== null) what = T("page.adj.scale", { c: fmt(a.scale) });
    else if (a.diagonal) what = T("page.adj.diagonal");
    else what = T("page.adj.overlap");
    const taps = as2d(ex.kernel)[0].length + (Array.isArray(ex.kernel[0]) ? "×" + ex.kernel.length : "");
    const dil = ex.dilation.some((v) => v !== 1) ? T("text.adjoint.and_dilation", { d: same(ex.dilation) }) : "";
    const padding = ex.kept_padding ? T("page.adj.padding_kept", { p: ex.padding }) : T("page.adj.padding_dropped", { why: ex.why });
    return wide(panel("adjoint", a.title,
      row(grid(a.conv_of_output, { caption: "conv(y) = C Cᵀ x" }), grid(a.input, { caption: "x" }), a.CCt && a.CCt.length <= 16 ? grid(a.CCt, { caption: "C Cᵀ" }) : null),
      p(a.equal ? T("text.adjoint.equal") : T("page.adj.not_inverse")),
      p(what),
      p(T("page.adj.demo", { s: same(ex.stride), d: dil, v: fmt(flat(ex.kernel)[0]), taps, padding })),
      row(grid(ex.conv_transpose, { caption: "y' = conv_transpose(x, w')" }), grid(ex.conv_back, { caption: "conv(y', w')" }))));
  }

  function resultPanel(d) {
    const r = d.steps.result;
    const outs = d.steps.channels
      ? el("div", { id: "output", class: "row" }, r.output.map((ch, c) => grid(ch, { caption: `y[${c}]`, index: true, cls: "channel" })))
      : grid(r.output, { id: "output", index: true, caption: T("page.result.caption", { shape: d.output_shape.join("×") }) });
    if (d.steps.channels) outs.querySelectorAll("table").forEach((t, c) => t.querySelectorAll("td").forEach((td) => (td.dataset.index = c + "," + td.dataset.index)));
    const agree = Object.entries(r.methods).map(([m, ok]) => el("li", { class: ok ? "ok" : "bad", text: T(ok ? "page.result.agrees" : "page.result.differs", { m }) }));
    const t = r.torch;
    return wide(panel("result", r.title, outs, el("ul", { class: "methods" }, agree),
      p(t.available
        ? T("text.result.torch_ran", { version: t.version, call: t.call, verdict: T(t.equal ? "text.result.torch_same" : "text.result.torch_differs"), diff: fmt(t.max_abs_diff) })
        : T("text.result.torch_skipped", { call: t.call ? t.call + " — " : "", reason: t.reason }))));
  }

  /* Two columns of cards: a half-width card shares its row with the next half-width one; a card left
     without a partner (next to a wide card, or last) takes the whole row, so none sits beside empty space. */
  function pairUp(panels) {
    for (let i = 0; i < panels.length; i++) {
      if (panels[i].classList.contains("wide")) continue;
      if (i + 1 < panels.length && !panels[i + 1].classList.contains("wide")) i++;
      else panels[i].classList.add("wide");
    }
    return panels;
  }

  function draw(root, d) {
    const s = d.steps;
    const panels = [resultPanel(d), shapePanel(d)];
    if (s.scatter) panels.push(cropPanel(d));  // the crop beside the output size: both about F
    if (s.channels) panels.push(channelsPanel(d));
    if (s.scatter) panels.push(scatterPanel(d));
    if (s.zero_insert) panels.push(zeroInsertPanel(d));
    if (s.matrix) panels.push(matrixPanel(d));
    if (s.gemm) panels.push(gemmPanel(d));
    if (s.polyphase) panels.push(polyphasePanel(d));
    panels.push(overlapPanel(d), adjointPanel(d));
    root.querySelector(".panels").replaceChildren(...pairUp(panels));
  }

  const matrixText = (a) => (Array.isArray(a[0]) ? (Array.isArray(a[0][0]) ? a.map(matrixText).join(" | ") : a.map((r) => r.join(" ")).join("; ")) : a.join(" "));
  function kernelText(d) { return d.steps.channels ? d.kernel.flat().map(matrixText).join(" | ") : matrixText(d.kernel); }
  function argText(v) { return Array.isArray(v) ? v.map((x) => (Array.isArray(x) ? x.join(":") : x)).join(",") : String(v); }

  /* The language switch: one link per language, each to this address with lang= changed (the state kept). */
  function langSwitch(opts) {
    const nav = el("nav", { class: "lang", "aria-label": T("page.lang_label") });
    const links = opts.langs.map(([code, name]) => el("a", { lang: code, hreflang: code, "data-lang": code, "aria-current": code === opts.lang ? "true" : null, text: name }));
    function update() {
      for (const a of links) {
        const q = new URLSearchParams(location.search);
        if (a.dataset.lang === "en") q.delete("lang"); else q.set("lang", a.dataset.lang);
        const query = q.toString();
        a.href = location.pathname + (query ? "?" + query : "");
      }
    }
    nav.append(el("span", { text: T("page.lang_label") + ":" }), ...links);
    update();
    return { nav, update };
  }

  function mount(root, opts) {
    STRINGS = opts.strings || STRINGS;
    const lang = opts.lang || "en";
    const status = el("p", { class: "status", role: "alert", "aria-live": "assertive" });
    const form = el("form", { class: "controls-form", "aria-label": T("page.form_label") });
    const inputs = {};
    for (const name of FIELDS) {
      const tag = name === "input" || name === "kernel" ? "textarea" : "input";
      const field = el(tag, { id: "f-" + name, name, "aria-describedby": "h-" + name, spellcheck: "false", rows: tag === "textarea" ? 2 : null });
      field.value = DEFAULTS[name] ?? "";
      inputs[name] = field;
      form.append(el("div", { class: "field" }, el("label", { for: "f-" + name, text: T("page.field." + name) }), field, el("small", { id: "h-" + name, text: T("page.hint." + name) })));
    }
    const method = el("select", { id: "f-method", name: "method" }, METHODS.map((m) => el("option", { value: m, text: m === "all" ? T("page.method.all") : m })));
    inputs.method = method;
    // PyTorch's check runs only when asked (torch=1), as `tconv explain --torch`: importing torch takes seconds.
    const torch = el("input", { type: "checkbox", id: "f-torch", name: "torch", title: T("page.torch_title") });
    form.append(el("div", { class: "field" }, el("label", { for: "f-method", text: T("page.field.method") }), method,
      el("label", { class: "check", for: "f-torch" }, torch, T("page.torch_label"))));
    const switcher = opts.api && opts.langs ? langSwitch(opts) : null;
    if (switcher) root.querySelector("h1")?.after(switcher.nav);
    root.append(form, status, el("div", { class: "panels" }));
    if (!opts.api) {
      form.hidden = true;
      status.textContent = T("page.no_api");
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
        const api = new URLSearchParams(query);
        if (lang !== "en") api.set("lang", lang);
        const res = await fetch(opts.api + "?" + api.toString());
        const body = await res.json();
        if (!res.ok) throw new Error(body.error || res.statusText);
        status.textContent = "";
        root.dataset.state = "ready";
        if (fillForm) fill(body);
        draw(root, body);
      } catch (err) {
        status.textContent = T("page.error", { message: err.message });
        root.dataset.state = "error";
      }
    }
    if (!opts.api) { draw(root, opts.data); root.dataset.state = "ready"; return; }
    let timer = null;
    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const q = new URLSearchParams();
        for (const [k, f] of Object.entries(inputs)) {
          const v = f.value.trim();
          if (v !== "" && v !== DEFAULTS[k]) q.set(k, v);
        }
        if (torch.checked) q.set("torch", "1");
        const shown = new URLSearchParams(q);
        if (lang !== "en") shown.set("lang", lang);
        history.replaceState(null, "", "?" + shown.toString());
        if (switcher) switcher.update();
        root.dataset.state = "loading";
        load(q, false);
      }, 300);
    });
    form.addEventListener("submit", (ev) => ev.preventDefault());
    const q = new URLSearchParams(location.search);
    q.delete("lang");
    for (const [k, f] of Object.entries(inputs)) if (q.has(k)) f.value = q.get(k);
    torch.checked = ["1", "true", "yes", "on"].includes((q.get("torch") || "").trim().toLowerCase());
    load(q, true);
  }
  window.tconvExplain = { mount };
})();
