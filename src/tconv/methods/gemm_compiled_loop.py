"""The loop of the ``compiled`` arrangement, as numba compiles it (:mod:`tconv.methods.gemm_compiled`
derives it from the formula, lays out its arguments and runs it).

Plain Python over NumPy arrays, in the subset numba compiles: no views, unsigned offsets (numba's
check for negative indices on signed ones stopped the inner loops vectorising), and each block of
outputs × output channels summed in scalars that the compiler keeps in registers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["loop", "col2im", "col2im_last"]


def loop(
    xin, win, slots, prepare, x, w, out, s1, t1, i1, s2, t2, i2, order, x0, w0, count, chain, step_, cig_, r0, r1, zero
):  # pragma: no cover - compiled
    """``out[n, G·C/G + c, o₁, o₂, o₃] = Σ_{(t₁,i₁)} Σ_{(t₂,i₂)} Σ_{run of o₃} Σ_ci w · x``, rows ``[r0, r1)``.

    ``x`` ``(N, G, I₁, I₂, I₃·C_in/G)``, ``w`` ``(G, k₁, k₂, C/G, K₃·C_in/G)`` (last-axis taps in the
    order of :func:`tconv.methods.gemm_compiled.last_axis`), ``out`` ``(N, C, O₁, O₂, O₃)``, C-contiguous; with ``prepare``,
    first copies ``xin`` ``(N, C_in, I₁, I₂, I₃)`` into ``x`` and ``win`` ``(C_in, C/G, k₁, k₂, k₃)``
    into ``w``. Blocks of 4, 2 or 1 outputs (``chain``) × 4 or 1 output channels, each a dot product
    over the run summed in scalars (registers). The stretch offsets are unsigned: numba tests a
    signed index for a negative one, and with that test in it a stretch loop ran 4× slower (measured
    alone). No array views are made in the loop either (each counts a reference): the first version,
    which sliced and indexed signed, ran 2–5× slower on the grid's small layers.
    """
    n_img, channels, o1_size, o2_size, o3_size = out.shape
    groups, cog = w.shape[0], w.shape[3]
    if prepare:  # the copies the loop reads: x → x, weight → w (one pass each)
        i3 = xin.shape[4]
        tile = 16 if i3 * cig_ >= 1 << 15 else i3  # a long row: 16 input rows at a time (stays in cache)
        for n in range(n_img):
            for gi in range(groups):
                for ia in range(xin.shape[2]):
                    for ib in range(xin.shape[3]):
                        for i0 in range(0, i3, tile):
                            for ci in range(cig_):  # reads along I₃, writes within the tile's rows
                                for ic in range(i0, min(i0 + tile, i3)):
                                    x[n, gi, ia, ib, ic * cig_ + ci] = xin[n, gi * cig_ + ci, ia, ib, ic]
        if cig_ * cog * w.shape[1] * w.shape[2] * slots.size < 1 << 18:
            for gi in range(groups):
                for ta in range(w.shape[1]):
                    for tb in range(w.shape[2]):
                        for co in range(cog):
                            for sl in range(slots.size):
                                tc = slots[sl]
                                for ci in range(cig_):
                                    w[gi, ta, tb, co, sl * cig_ + ci] = win[gi * cig_ + ci, co, ta, tb, tc]
        else:  # a large weight: 16 input channels at a time, each read in full (stays in cache)
            for gi in range(groups):
                for co in range(cog):
                    for c0 in range(0, cig_, 16):
                        for ta in range(w.shape[1]):
                            for tb in range(w.shape[2]):
                                for sl in range(slots.size):
                                    tc = slots[sl]
                                    for ci in range(c0, min(c0 + 16, cig_)):
                                        w[gi, ta, tb, co, sl * cig_ + ci] = win[gi * cig_ + ci, co, ta, tb, tc]
    one = np.uint64(1)
    step, cig = np.uint64(step_), np.uint64(cig_)
    seg = step * cig  # input elements between the taps of a run (step > 1: one dot product per tap)
    for r in range(r0, r1):
        n, o1 = r // o1_size, r % o1_size
        for o2 in range(o2_size):
            for gi in range(groups):
                p = 0
                while p < o3_size:
                    k = count[p]
                    m = 4 if chain[p] >= 4 else (2 if chain[p] >= 2 else 1)  # outputs in this block
                    if step == one:
                        nseg, run = one, k * cig
                    else:
                        nseg, run = k, cig
                    xb, wb = x0[p] * cig, w0[p] * cig
                    c = 0
                    while c + 4 <= cog:
                        co = gi * cog + c
                        if m == 4:
                            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
                            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
                            for a in range(s1[o1], s1[o1 + 1]):
                                ia, ta = i1[a], t1[a]
                                for b in range(s2[o2], s2[o2 + 1]):
                                    ib, tb = i2[b], t2[b]
                                    for sg in range(nseg):
                                        xa, wa = xb + sg * seg, wb + sg * cig
                                        x1 = xa + cig
                                        x2 = x1 + cig
                                        x3 = x2 + cig
                                        for j in range(run):
                                            u0 = x[n, gi, ia, ib, xa + j]
                                            u1 = x[n, gi, ia, ib, x1 + j]
                                            u2 = x[n, gi, ia, ib, x2 + j]
                                            u3 = x[n, gi, ia, ib, x3 + j]
                                            v0 = w[gi, ta, tb, c, wa + j]
                                            v1 = w[gi, ta, tb, c + 1, wa + j]
                                            v2 = w[gi, ta, tb, c + 2, wa + j]
                                            v3 = w[gi, ta, tb, c + 3, wa + j]
                                            s00 += u0 * v0
                                            s01 += u0 * v1
                                            s02 += u0 * v2
                                            s03 += u0 * v3
                                            s10 += u1 * v0
                                            s11 += u1 * v1
                                            s12 += u1 * v2
                                            s13 += u1 * v3
                                            s20 += u2 * v0
                                            s21 += u2 * v1
                                            s22 += u2 * v2
                                            s23 += u2 * v3
                                            s30 += u3 * v0
                                            s31 += u3 * v1
                                            s32 += u3 * v2
                                            s33 += u3 * v3
                            out[n, co, o1, o2, order[p]] = s00
                            out[n, co + 1, o1, o2, order[p]] = s01
                            out[n, co + 2, o1, o2, order[p]] = s02
                            out[n, co + 3, o1, o2, order[p]] = s03
                            out[n, co, o1, o2, order[p + 1]] = s10
                            out[n, co + 1, o1, o2, order[p + 1]] = s11
                            out[n, co + 2, o1, o2, order[p + 1]] = s12
                            out[n, co + 3, o1, o2, order[p + 1]] = s13
                            out[n, co, o1, o2, order[p + 2]] = s20
                            out[n, co + 1, o1, o2, order[p + 2]] = s21
                            out[n, co + 2, o1, o2, order[p + 2]] = s22
                            out[n, co + 3, o1, o2, order[p + 2]] = s23
                            out[n, co, o1, o2, order[p + 3]] = s30
                            out[n, co + 1, o1, o2, order[p + 3]] = s31
                            out[n, co + 2, o1, o2, order[p + 3]] = s32
                            out[n, co + 3, o1, o2, order[p + 3]] = s33
                        elif m == 2:
                            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
                            for a in range(s1[o1], s1[o1 + 1]):
                                ia, ta = i1[a], t1[a]
                                for b in range(s2[o2], s2[o2 + 1]):
                                    ib, tb = i2[b], t2[b]
                                    for sg in range(nseg):
                                        xa, wa = xb + sg * seg, wb + sg * cig
                                        x1 = xa + cig
                                        for j in range(run):
                                            u0 = x[n, gi, ia, ib, xa + j]
                                            u1 = x[n, gi, ia, ib, x1 + j]
                                            v0 = w[gi, ta, tb, c, wa + j]
                                            v1 = w[gi, ta, tb, c + 1, wa + j]
                                            v2 = w[gi, ta, tb, c + 2, wa + j]
                                            v3 = w[gi, ta, tb, c + 3, wa + j]
                                            s00 += u0 * v0
                                            s01 += u0 * v1
                                            s02 += u0 * v2
                                            s03 += u0 * v3
                                            s10 += u1 * v0
                                            s11 += u1 * v1
                                            s12 += u1 * v2
                                            s13 += u1 * v3
                            out[n, co, o1, o2, order[p]] = s00
                            out[n, co + 1, o1, o2, order[p]] = s01
                            out[n, co + 2, o1, o2, order[p]] = s02
                            out[n, co + 3, o1, o2, order[p]] = s03
                            out[n, co, o1, o2, order[p + 1]] = s10
                            out[n, co + 1, o1, o2, order[p + 1]] = s11
                            out[n, co + 2, o1, o2, order[p + 1]] = s12
                            out[n, co + 3, o1, o2, order[p + 1]] = s13
                        else:
                            s00 = s01 = s02 = s03 = zero
                            for a in range(s1[o1], s1[o1 + 1]):
                                ia, ta = i1[a], t1[a]
                                for b in range(s2[o2], s2[o2 + 1]):
                                    ib, tb = i2[b], t2[b]
                                    for sg in range(nseg):
                                        xa, wa = xb + sg * seg, wb + sg * cig
                                        for j in range(run):
                                            u0 = x[n, gi, ia, ib, xa + j]
                                            v0 = w[gi, ta, tb, c, wa + j]
                                            v1 = w[gi, ta, tb, c + 1, wa + j]
                                            v2 = w[gi, ta, tb, c + 2, wa + j]
                                            v3 = w[gi, ta, tb, c + 3, wa + j]
                                            s00 += u0 * v0
                                            s01 += u0 * v1
                                            s02 += u0 * v2
                                            s03 += u0 * v3
                            out[n, co, o1, o2, order[p]] = s00
                            out[n, co + 1, o1, o2, order[p]] = s01
                            out[n, co + 2, o1, o2, order[p]] = s02
                            out[n, co + 3, o1, o2, order[p]] = s03
                        c += 4
                    while c < cog:
                        co = gi * cog + c
                        if m == 4:
                            s00 = s10 = s20 = s30 = zero
                            for a in range(s1[o1], s1[o1 + 1]):
                                ia, ta = i1[a], t1[a]
                                for b in range(s2[o2], s2[o2 + 1]):
                                    ib, tb = i2[b], t2[b]
                                    for sg in range(nseg):
                                        xa, wa = xb + sg * seg, wb + sg * cig
                                        x1 = xa + cig
                                        x2 = x1 + cig
                                        x3 = x2 + cig
                                        for j in range(run):
                                            u0 = x[n, gi, ia, ib, xa + j]
                                            u1 = x[n, gi, ia, ib, x1 + j]
                                            u2 = x[n, gi, ia, ib, x2 + j]
                                            u3 = x[n, gi, ia, ib, x3 + j]
                                            v0 = w[gi, ta, tb, c, wa + j]
                                            s00 += u0 * v0
                                            s10 += u1 * v0
                                            s20 += u2 * v0
                                            s30 += u3 * v0
                            out[n, co, o1, o2, order[p]] = s00
                            out[n, co, o1, o2, order[p + 1]] = s10
                            out[n, co, o1, o2, order[p + 2]] = s20
                            out[n, co, o1, o2, order[p + 3]] = s30
                        elif m == 2:
                            s00 = s10 = zero
                            for a in range(s1[o1], s1[o1 + 1]):
                                ia, ta = i1[a], t1[a]
                                for b in range(s2[o2], s2[o2 + 1]):
                                    ib, tb = i2[b], t2[b]
                                    for sg in range(nseg):
                                        xa, wa = xb + sg * seg, wb + sg * cig
                                        x1 = xa + cig
                                        for j in range(run):
                                            u0 = x[n, gi, ia, ib, xa + j]
                                            u1 = x[n, gi, ia, ib, x1 + j]
                                            v0 = w[gi, ta, tb, c, wa + j]
                                            s00 += u0 * v0
                                            s10 += u1 * v0
                            out[n, co, o1, o2, order[p]] = s00
                            out[n, co, o1, o2, order[p + 1]] = s10
                        else:
                            s00 = zero
                            for a in range(s1[o1], s1[o1 + 1]):
                                ia, ta = i1[a], t1[a]
                                for b in range(s2[o2], s2[o2 + 1]):
                                    ib, tb = i2[b], t2[b]
                                    for sg in range(nseg):
                                        xa, wa = xb + sg * seg, wb + sg * cig
                                        for j in range(run):
                                            u0 = x[n, gi, ia, ib, xa + j]
                                            v0 = w[gi, ta, tb, c, wa + j]
                                            s00 += u0 * v0
                            out[n, co, o1, o2, order[p]] = s00
                        c += 1

                    p += m


def col2im(
    cols,
    cs_m,
    cs_c,
    cs_t,
    out,
    os_m,
    os_c,
    channels,
    dims,
    s1,
    t1,
    i1,
    s2,
    t2,
    i2,
    tap,
    phase,
    shift,
    lo,
    hi,
    stride,
    r0,
    r1,
):  # pragma: no cover - compiled
    """col2im of a block of columns into its output, rows ``r = m·channels + c`` in ``[r0, r1)``.

    ``cols`` and ``out`` are flat: column ``(m, c, t, i₁, i₂, i₃)`` at ``m·cs_m + c·cs_c + t·cs_t +
    (i₁·I₂ + i₂)·I₃ + i₃``, output ``(m, c, o₁, o₂, o₃)`` at ``m·os_m + c·os_c + (o₁·O₂ + o₂)·O₃ + o₃``
    (``dims`` = ``k₁, k₂, k₃, I₁, I₂, I₃, O₁, O₂, O₃``). Per output row ``(m, c, o₁, o₂)``: the pairs
    ``(t₁, i₁)``, ``(t₂, i₂)`` that reach it, and for each last-axis tap its row of columns added to
    the tap's phase of a phase-major row buffer (contiguous, vectorised additions), which is then
    written to the row's strided positions once. Unsigned offsets, no views (module docstring).
    """
    k2, k3 = dims[1], dims[2]
    in2, in3 = dims[4], dims[5]
    o1_size, o2_size, o3_size = dims[6], dims[7], dims[8]
    q_size = (o3_size + stride - 1) // stride
    buf = np.empty(stride * q_size, dtype=out.dtype)
    zero = out.dtype.type(0)
    for r in range(r0, r1):
        m, c = np.uint64(r // channels), np.uint64(r % channels)
        cbase = m * np.uint64(cs_m) + c * np.uint64(cs_c)
        obase = m * np.uint64(os_m) + c * np.uint64(os_c)
        for o1 in range(o1_size):
            for o2 in range(o2_size):
                for j in range(stride * q_size):
                    buf[j] = zero
                for a in range(s1[o1], s1[o1 + 1]):
                    for b in range(s2[o2], s2[o2 + 1]):
                        for k in range(tap.size):
                            t = (t1[a] * k2 + t2[b]) * k3 + tap[k]
                            src = cbase + np.uint64(t * cs_t + (i1[a] * in2 + i2[b]) * in3 + lo[k])
                            dst = np.uint64(phase[k] * q_size + shift[k] + lo[k])  # q = i + q₀ ≥ 0
                            for i in range(np.uint64(hi[k] - lo[k])):
                                buf[dst + i] += cols[src + i]
                row = obase + np.uint64((o1 * o2_size + o2) * o3_size)
                for p in range(stride):
                    for q in range((o3_size - p + stride - 1) // stride):
                        out[row + np.uint64(q * stride + p)] = buf[p * q_size + q]


def col2im_last(cols, out, os_m, os_c, dims, s1, t1, i1, s2, t2, i2, s3, t3, i3, r0, r1):  # pragma: no cover - compiled
    """Channels-last col2im into a channels-first output, output rows ``r = (m·O₁ + o₁)·O₂ + o₂`` in ``[r0, r1)``.

    ``cols`` flat ``(m, I₁, I₂, I₃, Πk, C)``, C-contiguous; ``out`` flat, output ``(m, c, o₁, o₂, o₃)``
    at ``m·os_m + c·os_c + (o₁·O₂ + o₂)·O₃ + o₃`` (``dims`` = ``k₁, k₂, k₃, I₁, I₂, I₃, O₁, O₂, O₃,
    C``). Per output position: the pairs ``(t, i)`` of each axis that reach it, each tap's ``C``
    channels (contiguous) added into a vector of ``C``, which is then written to the position in
    every channel. The columns are read once and the output written once.
    """
    k2, k3 = dims[1], dims[2]
    in1, in2, in3 = dims[3], dims[4], dims[5]
    o1_size, o2_size, o3_size, channels = dims[6], dims[7], dims[8], dims[9]
    taps = dims[0] * k2 * k3
    acc = np.empty(channels, dtype=out.dtype)
    zero = out.dtype.type(0)
    cstride = np.uint64(os_c)
    for r in range(r0, r1):
        o2 = r % o2_size
        o1 = (r // o2_size) % o1_size
        m = r // (o2_size * o1_size)
        row = np.uint64(m) * np.uint64(os_m) + np.uint64((o1 * o2_size + o2) * o3_size)
        for o3 in range(o3_size):
            for c in range(channels):
                acc[c] = zero
            for a in range(s1[o1], s1[o1 + 1]):
                for b in range(s2[o2], s2[o2 + 1]):
                    for e in range(s3[o3], s3[o3 + 1]):
                        position = ((m * in1 + i1[a]) * in2 + i2[b]) * in3 + i3[e]
                        tap = (t1[a] * k2 + t2[b]) * k3 + t3[e]
                        src = np.uint64((position * taps + tap) * channels)
                        for c in range(np.uint64(channels)):
                            acc[c] += cols[src + c]
            dst = row + np.uint64(o3)
            for c in range(np.uint64(channels)):
                out[dst + c * cstride] = acc[c]
