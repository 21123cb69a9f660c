"""Generate the stored JAX and TensorFlow/Keras outputs that tests/test_convert.py checks tconv.convert against.

Run once in an environment that has the library (neither is a test dependency):

    python3 -m venv /tmp/jaxvenv && /tmp/jaxvenv/bin/pip install jax jaxlib numpy
    /tmp/jaxvenv/bin/python tests/interop/data/make_convert_reference.py jax
    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu numpy
    /tmp/tfvenv/bin/python tests/interop/data/make_convert_reference.py tensorflow

Each run writes ``convert_<library>.npz`` next to this file: a JSON list of cases (the call's
arguments, the library version) under ``cases`` and, per case ``n``, the arrays ``n_x`` (input, in
the library's layout), ``n_w`` (kernel, in the library's layout) and ``n_y`` (the library's output).
The generated data do not depend on tconv.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240601)


def jax_cases():
    import jax
    from jax import lax

    cases, arrays = [], {}
    # (spatial input, kernel, stride, dilation); 1-D and 2-D, k_eff below, at and above the stride.
    geometries = [
        ((4,), (3,), (2,), (1,)),
        ((5,), (4,), (3,), (2,)),
        ((4,), (1,), (3,), (1,)),
        ((3, 4), (2, 3), (2, 1), (1, 2)),
    ]
    for x_size, k, s, d in geometries:
        nd = len(k)
        keff = [dd * (kk - 1) + 1 for kk, dd in zip(k, d)]
        paddings = ["SAME", "VALID", [(1, 2)] * nd, [(ke + 1, 0) for ke in keff], [(0, ke + 2) for ke in keff]]
        for padding in paddings:
            for transpose_kernel in (False, True):
                for specs in (
                    (None, None),
                    ("NC" + "HW"[:nd] if nd == 2 else "NCW", "OI" + ("HW" if nd == 2 else "W")),
                ):
                    lhs_spec, rhs_spec = specs
                    x = rng.standard_normal((1, *x_size, 3)).astype("float32")  # N, *spatial, C
                    # HWIO. transpose_kernel=False: I is x's 3 channels; True: the kernel of the forward
                    # conv, whose O is x's 3 channels.
                    w = rng.standard_normal((*k, 2, 3) if transpose_kernel else (*k, 3, 2)).astype("float32")
                    dn = None
                    if lhs_spec:
                        x = np.moveaxis(x, -1, 1)  # N, C, *spatial
                        w = np.moveaxis(np.moveaxis(w, -1, 0), -1, 1)  # O, I, *k
                        dn = (lhs_spec, rhs_spec, lhs_spec)
                    y = lax.conv_transpose(
                        x, w, s, padding, rhs_dilation=d, dimension_numbers=dn, transpose_kernel=transpose_kernel
                    )
                    n = len(cases)
                    arrays.update({f"{n}_x": x, f"{n}_w": w, f"{n}_y": np.asarray(y)})
                    cases.append(
                        {
                            "strides": s,
                            "padding": padding if isinstance(padding, str) else [list(p) for p in padding],
                            "rhs_dilation": d,
                            "transpose_kernel": transpose_kernel,
                            "dimension_numbers": dn,
                        }
                    )
    # Corner cases: the output window wholly past the full output F = (i-1)*s + k_eff (JAX returns
    # zeros), or wholly before it; and every rank with JAX's default dimension numbers.
    extra = [
        ((4,), (3,), (2,), (1,), [(-8, 6)]),  # b = 10 >= F = 9, o = 3
        ((4,), (3,), (2,), (1,), [(12, -8)]),  # b = -10, e = 10: the window [-10, -1) ends before 0
        ((2, 3), (2, 2), (2, 1), (1, 1), [(-4, 5), (1, 1)]),
        ((3, 2, 2), (2, 3, 2), (2, 1, 2), (1, 1, 1), "SAME"),
        ((3, 2, 2), (2, 3, 2), (2, 1, 2), (1, 2, 1), [(1, 2), (4, 3), (2, 1)]),
    ]
    for x_size, k, s, d, padding in extra:
        x = rng.standard_normal((1, *x_size, 3)).astype("float32")
        w = rng.standard_normal((*k, 2, 3)).astype("float32")
        y = lax.conv_transpose(x, w, s, padding, rhs_dilation=d, transpose_kernel=True)
        n = len(cases)
        arrays.update({f"{n}_x": x, f"{n}_w": w, f"{n}_y": np.asarray(y)})
        cases.append(
            {
                "strides": s,
                "padding": padding if isinstance(padding, str) else [list(p) for p in padding],
                "rhs_dilation": d,
                "transpose_kernel": True,
                "dimension_numbers": None,
            }
        )
    return cases, arrays, {"jax": jax.__version__}


def tensorflow_cases():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    cases, arrays = [], {}
    layers = {1: keras.layers.Conv1DTranspose, 2: keras.layers.Conv2DTranspose}
    geometries = [
        ((4,), 3, 2, 1),
        ((5,), 4, 3, 1),
        ((4,), 1, 3, 1),
        ((4,), 4, 1, 1),
        ((4,), 3, 1, 2),
        ((3, 4), 3, 2, 1),
        ((3, 4), 2, 2, 1),
    ]
    for x_size, k, s, d in geometries:
        nd = len(x_size)
        for padding in ("same", "valid"):
            for op in [None, *range(s)]:
                layer = layers[nd](2, k, strides=s, padding=padding, output_padding=op, dilation_rate=d, use_bias=False)
                x = rng.standard_normal((1, *x_size, 3)).astype("float32")
                try:
                    y = layer(x)
                except Exception:  # Keras/TensorFlow refuse this combination: keep it out
                    continue
                n = len(cases)
                arrays.update({f"{n}_x": x, f"{n}_w": layer.kernel.numpy(), f"{n}_y": np.asarray(y)})
                cases.append(
                    {
                        "api": "keras",
                        "kernel_size": k,
                        "strides": s,
                        "padding": padding,
                        "output_padding": op,
                        "dilation_rate": d,
                    }
                )
    # tf.nn.conv_transpose with an explicit output shape; the last ones VALID with o < k_eff, which
    # TensorFlow accepts for one input (trunc((o - k_eff)/s) + 1 = 1), dilated too.
    for i, k, s, o, padding, d in [
        (4, 3, 2, 7, "SAME", 1),
        (4, 4, 3, 11, "SAME", 1),
        (4, 4, 3, 10, "SAME", 1),
        (4, 3, 2, 10, "VALID", 1),
        (4, 1, 3, 12, "VALID", 1),
        (1, 3, 2, 2, "VALID", 1),
        (1, 4, 3, 2, "VALID", 1),
        (1, 2, 3, 1, "VALID", 1),
        (1, 3, 3, 1, "VALID", 1),
        (1, 3, 2, 4, "VALID", 2),
        (1, 4, 3, 5, "VALID", 2),
    ]:
        x = rng.standard_normal((1, i, 3)).astype("float32")
        w = rng.standard_normal((k, 2, 3)).astype("float32")
        y = tf.nn.conv_transpose(x, w, [1, o, 2], strides=s, padding=padding, dilations=d).numpy()
        n = len(cases)
        arrays.update({f"{n}_x": x, f"{n}_w": w, f"{n}_y": y})
        cases.append(
            {"api": "tf.nn", "kernel_size": k, "strides": s, "padding": padding, "output_shape": o, "dilations": d}
        )
    # Which spatial output_shapes tf.nn.conv_transpose accepts, on a grid: (i, k, s, d, o, padding, accepted).
    accepts = []
    for i in (1, 2, 3):
        for k in (1, 2, 3, 4):
            for s in (1, 2, 3):
                for d in (1, 2):
                    for o in range(1, 13):
                        for padding in ("VALID", "SAME"):
                            x, w = np.ones((1, i, 1), "float32"), np.ones((k, 1, 1), "float32")
                            try:
                                tf.nn.conv_transpose(x, w, [1, o, 1], strides=s, padding=padding, dilations=d)
                                ok = True
                            except Exception:  # TensorFlow refuses this output shape
                                ok = False
                            accepts.append([i, k, s, d, o, padding, ok])
    arrays["accepts"] = np.array(json.dumps(accepts))
    return cases, arrays, {"tensorflow": tf.__version__, "keras": keras.__version__}


def main(which: str) -> None:
    cases, arrays, versions = {"jax": jax_cases, "tensorflow": tensorflow_cases}[which]()
    path = os.path.join(HERE, f"convert_{which}.npz")
    np.savez_compressed(path, cases=np.array(json.dumps({"versions": versions, "cases": cases})), **arrays)
    print(f"wrote {path}: {len(cases)} cases, {versions}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "jax")
