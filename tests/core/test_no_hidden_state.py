"""No hidden state: a call's acceptance never depends on the calls before it, a call never changes
process-wide settings (BLAS's threads), and the resources tconv assumes are the ones the process has
(its CPUs, its memory) and are public settings.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import threading
from unittest import mock

import numpy as np
import pytest

import tconv
from tconv import resources

SRC = str(pathlib.Path(tconv.__file__).parent.parent)

# ---- arguments: a fresh process and a warm one accept and refuse the same calls ---------------------

#: (label, keyword arguments) — each pair after a valid call it "equals" (2 == 2.0 == True in Python)
PROBES = [
    ("stride=2", dict(stride=2)),
    ("stride=2.0", dict(stride=2.0)),
    ("stride=True", dict(stride=True)),
    ("stride=1", dict(stride=1)),
    ("stride=1.0", dict(stride=1.0)),
    ("stride=(2,2.0)", dict(stride=(2, 2.0))),
    ("stride=np.int64(2)", dict(stride=np.int64(2))),
    ("padding=1", dict(padding=1)),
    ("padding=True", dict(padding=True)),
    ("padding=1.0", dict(padding=1.0)),
    ("groups=1", dict(groups=1)),
    ("groups=True", dict(groups=True)),
    ("dilation=1.0", dict(dilation=1.0)),
    ("output_padding=0.0", dict(output_padding=0.0)),
    ("output_size=(7,7)", dict(output_size=(7, 7))),
    ("output_size=(7.0,7)", dict(output_size=(7.0, 7))),
]

_PROBE_SCRIPT = """
import json, sys
import numpy as np, tconv
probes = eval(sys.argv[1], {"np": np})
if sys.argv[2] == "torch":
    import torch, tconv.torch
    call, ones = tconv.torch.conv_transpose, lambda shape: torch.ones(shape, requires_grad=True)
else:
    call, ones = tconv.conv_transpose, np.ones
out = {}
for label, kwargs in probes:
    try:
        call(ones((1, 1, 3, 3)), ones((1, 1, 3, 3)), **kwargs)
        out[label] = "accepted"
    except Exception as exc:
        out[label] = type(exc).__name__
print(json.dumps(out))
"""
LIBRARIES = pytest.mark.parametrize("library", ["numpy", "torch"])
#: The probes run through ``tconv.torch``: a valid call, then the equal-hashing ones it must not let pass.
TORCH_PROBES = {
    "stride=2",
    "stride=2.0",
    "stride=True",
    "stride=(2,2.0)",
    "padding=1",
    "padding=True",
    "groups=1",
    "groups=True",
    "dilation=1.0",
}


def _library(library: str) -> None:
    if library == "torch":
        pytest.importorskip("torch")


def _probe_source(probes) -> str:
    items = []
    for label, kwargs in probes:
        args = ", ".join(f"{k!r}: {'np.int64(2)' if isinstance(v, np.integer) else repr(v)}" for k, v in kwargs.items())
        items.append(f"({label!r}, {{{args}}})")
    return "[" + ", ".join(items) + "]"


def _run_probes(probes, library="numpy"):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(
        [sys.executable, "-c", _PROBE_SCRIPT, _probe_source(probes), library], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@LIBRARIES
def test_acceptance_does_not_depend_on_earlier_calls(library):
    """Every probe alone in a fresh process, against every probe after all the others (valid calls
    with equal-hashing arguments first): the verdicts are the same — for the core's
    ``conv_transpose`` and for ``tconv.torch``'s, which share the remembered argument checks."""
    _library(library)
    probes = PROBES if library == "numpy" else [p for p in PROBES if p[0] in TORCH_PROBES]  # torch: 2 s a process
    fresh = {}
    for probe in probes:
        fresh.update(_run_probes([probe], library))
    warm = _run_probes(probes + probes[::-1], library)  # each probe runs after every other one
    assert warm == fresh
    assert fresh["stride=2"] == "accepted" and fresh.get("stride=np.int64(2)", "accepted") == "accepted"
    for label in ("stride=2.0", "stride=True", "stride=(2,2.0)", "padding=True", "groups=True", "dilation=1.0"):
        assert fresh[label] != "accepted", label


@pytest.mark.parametrize("label, kwargs", PROBES, ids=[p[0] for p in PROBES])
def test_in_process_verdict_equals_the_fresh_process_verdict(label, kwargs):
    """The same in this (warm, long-lived) test process, after whatever ran before."""
    fresh = _run_probes([(label, kwargs)])[label]
    try:
        tconv.conv_transpose(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), **kwargs)
        here = "accepted"
    except Exception as exc:
        here = type(exc).__name__
    assert here == fresh


# ---- BLAS: a call never changes the thread count another thread sees ----------------------------------


def test_a_large_call_never_changes_blas_threads_seen_by_another_thread():
    """A second thread watches BLAS's thread count while large calls (split-sized) run; and no tconv
    code calls a BLAS controller's ``set_num_threads`` at all."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    controller = threadpoolctl.ThreadpoolController()
    blas = controller.select(user_api="blas").lib_controllers
    if not blas:
        pytest.skip("no BLAS library that threadpoolctl can read")
    before = [lib.get_num_threads() for lib in blas]
    seen, done = set(), threading.Event()

    def watch():
        while not done.is_set():
            seen.add(tuple(lib.get_num_threads() for lib in blas))

    x = np.ones((8, 32, 24, 24), np.float32)
    w = np.ones((32, 32, 4, 4), np.float32)  # 8·32·32·576·16 = 75 M multiply-adds: above the split's threshold
    previous = tconv.set_num_threads(2)
    watcher = threading.Thread(target=watch)
    setter = type(blas[0]).set_num_threads
    try:
        with mock.patch.object(type(blas[0]), "set_num_threads", autospec=True, side_effect=setter) as spy:
            watcher.start()
            for _ in range(5):
                tconv.conv_transpose(x, w, stride=2, padding=1)
    finally:
        done.set()
        watcher.join()
        tconv.set_num_threads(previous)
    assert spy.call_count == 0
    assert seen == {tuple(before)}


# ---- threads: a public setting, defaulting to the CPUs this process has -------------------------------


def test_set_num_threads_is_public_and_checked():
    previous = tconv.set_num_threads(3)
    try:
        assert tconv.get_num_threads() == 3
        assert tconv.set_num_threads(None) == 3
        assert tconv.get_num_threads() == min(resources.available_cpus(), resources.MAX_THREADS)
    finally:
        tconv.set_num_threads(previous)
    for bad in (0, -1, 2.0, True, "2"):
        with pytest.raises(tconv.TConvError, match="threads must be a positive whole number"):
            tconv.set_num_threads(bad)


def test_the_environment_variable_sets_the_default(monkeypatch):
    previous = tconv.set_num_threads(None)
    try:
        monkeypatch.setenv("TCONV_NUM_THREADS", "5")
        assert tconv.get_num_threads() == 5
        monkeypatch.setenv("TCONV_NUM_THREADS", "many")
        with pytest.raises(tconv.TConvError, match="TCONV_NUM_THREADS must be a positive whole number; got 'many'"):
            tconv.get_num_threads()
    finally:
        tconv.set_num_threads(previous)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")
def test_the_default_respects_cpu_affinity():
    """A process pinned to one CPU gets one thread, whatever ``os.cpu_count()`` says."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    env.pop("TCONV_NUM_THREADS", None)
    script = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); import tconv; print(tconv.get_num_threads())"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "1"


def _cgroup_tree(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    """A fake ``/sys/fs/cgroup`` under ``root``: each file (path relative to it) with its text."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text + "\n")
    return root


@pytest.mark.parametrize(
    "files, quota",
    [
        ({"cpu.max": "150000 100000"}, 1.5),
        ({"cpu.max": "max 100000"}, None),
        ({"cpu/cpu.cfs_quota_us": "300000", "cpu/cpu.cfs_period_us": "100000"}, 3.0),
        ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
        ({}, None),
    ],
    ids=["v2 quota", "v2 no quota", "v1 quota", "v1 no quota", "no cgroup"],
)
def test_cgroup_cpu_quota(files, quota, tmp_path):
    assert resources._cpu_quota(_cgroup_tree(tmp_path, files)) == quota


# ---- memory: the guard reads what is available, and says which limit it used --------------------------


@pytest.mark.parametrize(
    "files, left",
    [
        ({"memory.max": "1000000", "memory.current": "400000"}, 600000),
        ({"memory.max": "max", "memory.current": "400000"}, None),
        ({"memory/memory.limit_in_bytes": "2000000", "memory/memory.usage_in_bytes": "500000"}, 1500000),
        ({"memory/memory.limit_in_bytes": "9223372036854771712", "memory/memory.usage_in_bytes": "5"}, None),
        ({}, None),
    ],
    ids=["v2 limit", "v2 no limit", "v1 limit", "v1 no limit", "no cgroup"],
)
def test_cgroup_memory_left(files, left, tmp_path):
    assert resources._cgroup_memory_left(_cgroup_tree(tmp_path, files)) == left


def test_the_limit_is_the_smaller_available_figure_and_names_it(monkeypatch):
    monkeypatch.delenv("TCONV_MAX_BYTES", raising=False)
    monkeypatch.setattr(resources, "_mem_available", lambda: 5_000_000_000)
    monkeypatch.setattr(resources, "_cgroup_memory_left", lambda: 2_000_000_000)
    assert resources.memory_limit() == resources.MemoryLimit(2_000_000_000, "cgroup memory limit")
    monkeypatch.setattr(resources, "_cgroup_memory_left", lambda: None)
    assert resources.memory_limit() == resources.MemoryLimit(5_000_000_000, "MemAvailable")
    with pytest.raises(tconv.TConvError, match=r"more than the 5,000,000,000 bytes available \(MemAvailable; set"):
        tconv.conv_transpose(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), stride=50_000)
    assert "(limit 5,000,000,000 bytes, MemAvailable)" in str(tconv.plan((1, 1, 4, 4), (1, 1, 2, 2)))
    monkeypatch.setenv("TCONV_MAX_BYTES", "123")
    assert resources.memory_limit() == resources.MemoryLimit(123, "TCONV_MAX_BYTES")
    monkeypatch.setenv("TCONV_MAX_BYTES", "lots")
    with pytest.raises(tconv.TConvError, match="TCONV_MAX_BYTES must be a whole number of bytes; got 'lots'"):
        resources.memory_limit()


def test_on_this_machine_the_limit_is_what_is_available():
    limit = resources.memory_limit() if "TCONV_MAX_BYTES" not in os.environ else None
    if limit is None:
        pytest.skip("TCONV_MAX_BYTES is set")
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0 < limit.bytes <= physical and limit.source in ("MemAvailable", "cgroup memory limit", "physical memory")
