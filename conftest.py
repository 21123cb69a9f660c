"""Collection rules for the doctests in ``src/`` and ``docs/``: a module or page that needs an optional
extra (torch, matplotlib, onnx, dask) is skipped when that extra is not installed, so the core-only run
(NumPy and array-api-compat alone) collects cleanly."""

import importlib.util
import os

# torch's OpenMP threads spin-wait between parallel regions, which on cores other jobs are using
# slows torch-heavy tests; waiting passively costs nothing measurable on an idle machine. Set before
# anything loads OpenMP; a value already exported wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_NEEDS = {
    "torch": [
        "src/tconv/torch/*",
        "docs/torch.md",
        "docs/audit.md",
        "src/tconv/auditor/torch_model.py",
        *(f"src/tconv/study/{m}.py" for m in ("diffusion", "experiment", "figures", "model", "train")),
    ],
    "matplotlib": ["src/tconv/explainer/image.py", "src/tconv/explainer/palette.py"],
    "onnx": ["src/tconv/interop/onnx.py", "docs/interop.md", "docs/audit.md"],
    "dask": ["src/tconv/backends/dask.py"],
    "numba": ["src/tconv/methods/gemm_compiled.py", "src/tconv/methods/gemm_col2im.py"],
}

collect_ignore_glob = [
    path for module, paths in _NEEDS.items() if importlib.util.find_spec(module) is None for path in paths
]

# docs/backends.md is run section by section by tests/backends/test_docs.py, each section skipped when
# the library it needs (JAX, Dask, array-api-strict) is absent; collecting the page whole would not skip.
collect_ignore = ["docs/backends.md"]
