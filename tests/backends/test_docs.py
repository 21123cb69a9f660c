"""Every example in ``docs/backends.md`` runs: each ``## `` section is a doctest, run when the
library its heading names (``<!-- needs: module -->``) is installed and skipped otherwise."""

from __future__ import annotations

import doctest
import importlib.util
import os
import re

import pytest

PAGE = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "backends.md")


def sections():
    text = open(PAGE, encoding="utf-8").read()
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    out = []
    for part in parts:
        title = part.splitlines()[0]
        needs = re.search(r"<!-- needs: (\w+) -->", title)
        out.append((title.split(" <!--")[0], needs.group(1) if needs else None, part))
    return out


SECTIONS = sections()


def test_every_section_says_what_it_needs():
    assert len(SECTIONS) >= 5 and all(needs for _, needs, _ in SECTIONS)


@pytest.mark.parametrize("title, needs, text", SECTIONS, ids=[t for t, _, _ in SECTIONS])
def test_section_runs(title, needs, text):
    # The Dask section's last example needs torch as well (mixing libraries).
    for module in {needs, "dask", "numpy"} if needs != "array_api_strict" else {needs}:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    if "import torch" in text and importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    import numpy as np

    import tconv

    globs = {"tconv": tconv, "np": np}
    if needs == "distributed":  # the section continues the Dask one: da, np are in scope there
        import dask.array as da

        globs["da"] = da
    test = doctest.DocTestParser().get_doctest(text, globs, title, PAGE, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0, f"{runner.failures} of {runner.tries} examples failed in {title!r}"
    assert runner.tries > 0
