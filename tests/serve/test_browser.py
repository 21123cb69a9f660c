"""The page in a real browser: headless Chromium (Debian's ``chromium``) driven over CDP.

The page loads its state from the URL, draws the API's JSON (``#output`` cells carry ``data-index``
and ``data-value``), steps through scatter and zero insertion, follows every change in the URL,
reports bad input, and shows every panel. ``TCONV_UPDATE_SCREENSHOTS=1`` also writes the
screenshots of ``docs/explain.md`` to ``docs/img/explain/``.
"""

import json
import os
import pathlib
from urllib.parse import urlencode

import pytest

from tests.serve.cdp import Browser, chromium_path
from tests.serve.conftest import get_json

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (apt-get install chromium)")

SHOTS = pathlib.Path(__file__).parents[2] / "docs" / "img" / "explain"
UPDATE = os.environ.get("TCONV_UPDATE_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def browser():
    b = Browser(width=1280, height=900)
    yield b
    b.close()


def open_page(browser, server, **query):
    browser.navigate(f"{server}/?{urlencode(query)}")
    state = browser.wait_for("document.getElementById('app') && document.getElementById('app').dataset.state")
    return state


def output_cells(browser):
    return browser.evaluate(
        "[...document.querySelectorAll('#output td')].map(t => [t.dataset.index, Number(t.dataset.value)])"
    )


def test_output_grid_from_url_parameters(browser, server):
    q = {"input": "1 2; 3 4", "kernel": "1 2 3; 4 5 6; 7 8 9", "stride": "2", "padding": "1"}
    assert open_page(browser, server, **q) == "ready"
    _, want = get_json(f"{server}/api/explain?{urlencode(q)}")
    cells = output_cells(browser)
    assert cells == [[f"{i},{j}", v] for i, row in enumerate(want["output"]) for j, v in enumerate(row)]
    assert cells[4] == ["1,1", 36]
    # the form shows the URL's state
    assert browser.evaluate("document.getElementById('f-padding').value") == "1"
    if UPDATE:
        SHOTS.mkdir(parents=True, exist_ok=True)
        browser.screenshot(str(SHOTS / "page_stride2_padding1.png"))


def test_one_dimension_has_single_indices(browser, server):
    open_page(browser, server, input="1 2 3", kernel="1 10 100", stride="2")
    assert output_cells(browser) == [["0", 1], ["1", 10], ["2", 102], ["3", 20], ["4", 203], ["5", 30], ["6", 300]]


def test_every_panel_is_drawn(browser, server):
    open_page(browser, server, input="1 2; 3 4", kernel="1 2 3; 4 5 6; 7 8 9", stride="2")
    ids = browser.evaluate("[...document.querySelectorAll('section.panel')].map(s => s.id)")
    assert set(ids) >= {
        "result",
        "shape",
        "scatter",
        "crop",
        "zero-insert",
        "matrix",
        "gemm",
        "polyphase",
        "overlap",
        "adjoint",
    }
    text = browser.evaluate("document.getElementById('shape').textContent")
    assert "(2-1)*2 + 1*(3-1) + 1 - 2*0 + 0 = 5" in text
    overlap = browser.evaluate("[...document.querySelectorAll('#overlap td')].map(t => Number(t.textContent))")
    assert overlap[:5] == [1, 1, 2, 1, 1] and max(overlap) == 4  # k=3, s=2: 1, 2 and 4 taps
    assert "Taps per phase differ (1,2,4)" in browser.evaluate("document.getElementById('polyphase').textContent")


def test_scatter_step_through_highlights_the_current_stamp(browser, server):
    q = {"input": "1 2; 3 4", "kernel": "1 2 3; 4 5 6; 7 8 9", "stride": "2"}
    open_page(browser, server, **q)
    _, d = get_json(f"{server}/api/explain?{urlencode(q)}")
    frame = "document.querySelector('#scatter-steps .frame')"
    marked = f"[...{frame}.querySelectorAll('table.sum td.mark')].map(t => t.title.split(':')[0])"
    sums = f"[...{frame}.querySelectorAll('table.sum td')].map(t => Number(t.textContent))"
    assert browser.evaluate(f"{frame}.dataset.step") == "0"
    for step in range(4):
        if step:
            browser.evaluate("document.getElementById('scatter-steps-next').click()")
        stamp = d["steps"]["scatter"]["stamps"][step]
        assert browser.evaluate(f"{frame}.dataset.step") == str(step)
        assert browser.evaluate(sums) == sum(stamp["sum"], [])  # the running sum after this stamp
        r0, c0 = stamp["at"]
        assert sorted(browser.evaluate(marked)) == sorted(f"{r0 + r},{c0 + c}" for r in range(3) for c in range(3))
    browser.evaluate("document.getElementById('scatter-steps-back').click()")
    assert browser.evaluate(f"{frame}.dataset.step") == "2"
    # keyboard: the stepper takes the arrow keys
    browser.evaluate(
        "document.getElementById('scatter-steps').dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowLeft'}))"
    )
    assert browser.evaluate(f"{frame}.dataset.step") == "1"
    # play runs on its own (one frame every 0.9 s) and ends at the last stamp
    browser.evaluate("document.getElementById('scatter-steps-play').click()")
    browser.wait_for(f"{frame}.dataset.step === '3'", timeout=5)
    assert "play" in browser.evaluate("document.getElementById('scatter-steps-play').textContent")
    if UPDATE:
        browser.evaluate("document.getElementById('scatter-steps-slider').value = 1")
        browser.evaluate("document.getElementById('scatter-steps-slider').dispatchEvent(new Event('input'))")
        browser.evaluate("document.getElementById('scatter').scrollIntoView()")
        browser.screenshot(str(SHOTS / "scatter_step2.png"), full_page=False)


def test_zero_insertion_step_through_fills_the_output(browser, server):
    open_page(browser, server, input="1 2 3", kernel="1 10 100", stride="2")
    frame = "document.querySelector('#zero-insert-steps .frame')"
    for _ in range(2):
        browser.evaluate("document.getElementById('zero-insert-steps-next').click()")
    assert browser.evaluate(f"{frame}.querySelector('p').textContent") == "y[2] = 1·100 + 0·10 + 2·1 = 102"
    window = browser.evaluate(
        f"[...{frame}.querySelectorAll('table')[0].querySelectorAll('td.mark')].map(t => t.textContent)"
    )
    assert window == ["1", "0", "2"]
    so_far = browser.evaluate(
        f"[...{frame}.querySelectorAll('table')[2].querySelectorAll('td')].map(t => t.textContent)"
    )
    assert so_far == ["1", "10", "102", "", "", "", ""]
    assert browser.evaluate("document.querySelector('#zero-insert table.wrong') !== null")  # the unflipped trap


def test_the_url_follows_every_change_and_bad_input_is_reported(browser, server):
    open_page(browser, server, input="1 2 3", kernel="1 10 100")
    set_stride = (
        "(() => { const f = document.getElementById('f-stride'); f.value = '{v}';"
        " f.dispatchEvent(new Event('input', {bubbles: true})); })()"
    )
    browser.evaluate(set_stride.replace("{v}", "2"))
    browser.wait_for("location.search.includes('stride=2') && document.getElementById('app').dataset.state === 'ready'")
    browser.wait_for("document.querySelectorAll('#output td').length === 7")
    assert [v for _, v in output_cells(browser)] == [1, 10, 102, 20, 203, 30, 300]
    browser.evaluate(set_stride.replace("{v}", "two"))
    browser.wait_for("document.getElementById('app').dataset.state === 'error'")
    status = browser.evaluate("document.querySelector('.status').textContent")
    assert "stride: 'two' must be a whole number" in status
    browser.evaluate(set_stride.replace("{v}", "3"))
    browser.wait_for("document.getElementById('app').dataset.state === 'ready' && location.search.includes('stride=3')")
    assert [v for _, v in output_cells(browser)] == [1, 10, 100, 2, 20, 200, 3, 30, 300]
    # reloading the shared link gives the same state
    open_page(
        browser,
        server,
        **dict(
            pair.split("=", 1) for pair in browser.evaluate("location.search.slice(1)").replace("+", " ").split("&")
        ),
    )
    assert browser.evaluate("document.getElementById('f-stride').value") == "3"


def test_controls_are_labelled_and_keyboard_operable(browser, server):
    open_page(browser, server)
    unlabelled = browser.evaluate(
        "[...document.querySelectorAll('input, select, textarea')].filter(f => !(f.labels && f.labels.length)"
        " && !f.getAttribute('aria-label')).map(f => f.id)"
    )
    assert unlabelled == []
    buttons = browser.evaluate(
        "[...document.querySelectorAll('button')].every(b => b.tabIndex >= 0 && b.textContent.trim())"
    )
    assert buttons
    # no arguments: the learner's example, filled into the form
    assert browser.evaluate("document.getElementById('f-input').value") == "2 2; 0 2"
    assert [v for _, v in output_cells(browser)] == [2, 2, 0, 0, 4, 2, 0, 0, 2]


def test_the_pytorch_check_runs_only_when_asked_and_the_url_keeps_it(browser, server):
    open_page(browser, server, input="1 2", kernel="1 10 100", stride="2")
    result = "document.getElementById('result').textContent"
    assert not browser.evaluate("document.getElementById('f-torch').checked")
    assert "not run (tconv explain --torch" in browser.evaluate(result)  # the CLI's default, as the API's
    browser.evaluate("document.getElementById('f-torch').click()")
    # torch=1 in the URL; the result panel then says what PyTorch gave (or that it is not installed)
    browser.wait_for(
        "location.search.includes('torch=1') && document.getElementById('app').dataset.state === 'ready'"
        " && !document.getElementById('result').textContent.includes('not run')",
        timeout=120,  # a hang guard: the server imports torch once, which takes seconds
    )
    assert "PyTorch" in browser.evaluate(result) and "stride=2" in browser.evaluate("location.search")
    open_page(browser, server, input="1 2", kernel="1 10 100", torch="1")  # the shared link keeps the check
    assert browser.evaluate("document.getElementById('f-torch').checked")


def test_channels_and_groups(browser, server):
    # 4 input channels in 2 groups, one output channel per group: y[1] = x[2]*w[2,0] + x[3]*w[3,0]
    q = {"input": "1 2 | 3 4 | 0 1 | 2 -1", "kernel": "1 1 | 2 0 | 1 -1 | 0 3", "groups": "2", "stride": "2"}
    open_page(browser, server, **q)
    _, d = get_json(f"{server}/api/explain?{urlencode(q)}")
    assert output_cells(browser) == [[f"{c},{i}", v] for c, ch in enumerate(d["output"]) for i, v in enumerate(ch)]
    text = browser.evaluate("document.getElementById('channels').textContent")
    assert "groups 2" in text and "y[1] — group 1, input channels 2, 3" in text
    partials = browser.evaluate("[...document.querySelectorAll('#channels table caption')].map(c => c.textContent)")
    assert partials == ["x[0] ∗ w[0,0]", "x[1] ∗ w[1,0]", "y[0]", "x[2] ∗ w[2,0]", "x[3] ∗ w[3,0]", "y[1]"]
    if UPDATE:
        browser.evaluate("document.getElementById('channels').scrollIntoView()")
        browser.screenshot(str(SHOTS / "channels_groups2.png"), full_page=False)


def test_notebook_view_draws_the_same_grid(browser, tmp_path):
    import tconv

    e = tconv.explain([[1, 2], [3, 4]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]], stride=2, torch_check=False)
    page = tmp_path / "notebook.html"
    page.write_text(f"<!doctype html><meta charset='utf-8'><body>{e._repr_html_()}</body>", encoding="utf-8")
    browser.navigate(page.as_uri())
    browser.wait_for("document.querySelectorAll('#output td').length === 25")
    got = [v for _, v in output_cells(browser)]
    assert got == sum(json.loads(e.to_json())["output"], [])
    assert browser.evaluate("document.querySelector('.controls-form').hidden")
