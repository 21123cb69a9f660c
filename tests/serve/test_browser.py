"""The page in a real browser: headless Chromium (Debian's ``chromium``) driven over CDP.

The page loads its state from the URL, draws the API's JSON (``#output`` cells carry ``data-index``
and ``data-value``), steps through scatter and zero insertion, follows every change in the URL,
reports bad input, and shows every panel, in English and in Japanese (``?lang=ja``, with a language
switch that keeps the state). Its cards fill a 1400-px window's rows. ``TCONV_UPDATE_SCREENSHOTS=1``
also writes the screenshots of ``docs/explain.md`` and ``docs/explain.ja.md`` to ``docs/img/explain/``
(``NAME.png`` in English, ``NAME.ja.png`` in Japanese).
"""

import json
import os
import pathlib
import re
from urllib.parse import urlencode

import pytest

from tconv.explainer.i18n import LANGS, catalogue
from tests.serve.cdp import Browser, chromium_path
from tests.serve.conftest import get_json

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (apt-get install chromium)")

SHOTS = pathlib.Path(__file__).parents[2] / "docs" / "img" / "explain"
UPDATE = os.environ.get("TCONV_UPDATE_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def browser():
    b = Browser(width=1400, height=900)
    yield b
    b.close()


def shot(name: str, lang: str = "en") -> str:
    """The screenshot's path: ``NAME.png`` in English, ``NAME.<lang>.png`` otherwise."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    return str(SHOTS / (f"{name}.png" if lang == "en" else f"{name}.{lang}.png"))


def open_page(browser, server, **query):
    browser.navigate(f"{server}/?{urlencode(query)}")
    state = browser.wait_for("document.getElementById('app') && document.getElementById('app').dataset.state")
    return state


def output_cells(browser):
    return browser.evaluate(
        "[...document.querySelectorAll('#output td')].map(t => [t.dataset.index, Number(t.dataset.value)])"
    )


@pytest.mark.parametrize("lang", LANGS)
def test_output_grid_from_url_parameters(browser, server, lang):
    q = {"input": "1 2; 3 4", "kernel": "1 2 3; 4 5 6; 7 8 9", "stride": "2", "padding": "1"}
    assert open_page(browser, server, **q, **({} if lang == "en" else {"lang": lang})) == "ready"
    _, want = get_json(f"{server}/api/explain?{urlencode(q)}")
    cells = output_cells(browser)
    assert cells == [[f"{i},{j}", v] for i, row in enumerate(want["output"]) for j, v in enumerate(row)]
    assert cells[4] == ["1,1", 36]
    # the form shows the URL's state
    assert browser.evaluate("document.getElementById('f-padding').value") == "1"
    assert browser.evaluate("document.documentElement.lang") == lang
    if UPDATE:
        browser.screenshot(shot("page_stride2_padding1", lang))


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


@pytest.mark.parametrize("lang", LANGS)
def test_scatter_step_through_highlights_the_current_stamp(browser, server, lang):
    q = {"input": "1 2; 3 4", "kernel": "1 2 3; 4 5 6; 7 8 9", "stride": "2"}
    open_page(browser, server, **q, **({} if lang == "en" else {"lang": lang}))
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
    browser.wait_for(f"{frame}.dataset.step === '3'", timeout=600)
    play = catalogue(lang)["page.play"]
    assert browser.evaluate("document.getElementById('scatter-steps-play').textContent") == play
    if UPDATE:
        browser.evaluate("document.getElementById('scatter-steps-slider').value = 1")
        browser.evaluate("document.getElementById('scatter-steps-slider').dispatchEvent(new Event('input'))")
        browser.evaluate("document.getElementById('scatter').scrollIntoView()")
        browser.screenshot(shot("scatter_step2", lang), full_page=False)


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
        timeout=600,  # a hang guard: the server imports torch once, which takes seconds
    )
    assert "PyTorch" in browser.evaluate(result) and "stride=2" in browser.evaluate("location.search")
    open_page(browser, server, input="1 2", kernel="1 10 100", torch="1")  # the shared link keeps the check
    assert browser.evaluate("document.getElementById('f-torch').checked")


@pytest.mark.parametrize("lang", LANGS)
def test_channels_and_groups(browser, server, lang):
    # 4 input channels in 2 groups, one output channel per group: y[1] = x[2]*w[2,0] + x[3]*w[3,0]
    q = {"input": "1 2 | 3 4 | 0 1 | 2 -1", "kernel": "1 1 | 2 0 | 1 -1 | 0 3", "groups": "2", "stride": "2"}
    open_page(browser, server, **q, **({} if lang == "en" else {"lang": lang}))
    _, d = get_json(f"{server}/api/explain?{urlencode(q)}")
    assert output_cells(browser) == [[f"{c},{i}", v] for c, ch in enumerate(d["output"]) for i, v in enumerate(ch)]
    text = browser.evaluate("document.getElementById('channels').textContent")
    heading = catalogue(lang)["page.channels.output"]
    heading = heading["other"] if isinstance(heading, dict) else heading
    assert heading.format(c=1, group=1, list="2, 3") in text
    partials = browser.evaluate("[...document.querySelectorAll('#channels figcaption')].map(c => c.textContent)")
    assert partials == ["x[0] ∗ w[0,0]", "x[1] ∗ w[1,0]", "y[0]", "x[2] ∗ w[2,0]", "x[3] ∗ w[3,0]", "y[1]"]
    # the crop panel shows one channel's F next to that channel's output (not the layer's)
    crop = browser.evaluate(
        "[...document.querySelectorAll('#crop table')[1].querySelectorAll('td')].map(t => Number(t.dataset.value ?? t.textContent))"
    )
    assert crop == d["steps"]["scatter"]["output"]
    if UPDATE:
        browser.evaluate("document.getElementById('channels').scrollIntoView()")
        browser.screenshot(shot("channels_groups2", lang), full_page=False)


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


def test_japanese_page_and_the_language_switch(browser, server):
    """``?lang=ja``: the page in Japanese with the same numbers; the switch keeps the state in the URL."""
    q = {"input": "1 2 3", "kernel": "1 10 100", "stride": "2"}
    assert open_page(browser, server, **q, lang="ja") == "ready"
    assert browser.evaluate("document.documentElement.lang") == "ja"
    assert browser.evaluate("document.querySelector('h1').textContent") == catalogue("ja")["page.h1"]
    assert [v for _, v in output_cells(browser)] == [1, 10, 102, 20, 203, 30, 300]
    assert catalogue("ja")["heading.adjoint"] in browser.evaluate("document.getElementById('adjoint').textContent")
    links = browser.evaluate("[...document.querySelectorAll('nav.lang a')].map(a => [a.dataset.lang, a.textContent])")
    assert links == [[code, catalogue(code)["lang.name"]] for code in LANGS]
    # a change follows into the URL with the language kept, and the switch's links follow too
    browser.evaluate(
        "(() => { const f = document.getElementById('f-stride'); f.value = '3';"
        " f.dispatchEvent(new Event('input', {bubbles: true})); })()"
    )
    browser.wait_for("location.search.includes('stride=3') && document.getElementById('app').dataset.state === 'ready'")
    assert "lang=ja" in browser.evaluate("location.search")
    browser.evaluate("document.querySelector('nav.lang a[data-lang=en]').click()")
    browser.wait_for(
        "document.documentElement.lang === 'en' && document.getElementById('app').dataset.state === 'ready'"
    )
    assert "lang=" not in browser.evaluate("location.search")
    assert browser.evaluate("document.getElementById('f-stride').value") == "3"
    assert [v for _, v in output_cells(browser)] == [1, 10, 100, 2, 20, 200, 3, 30, 300]


def test_japanese_page_has_no_english_sentence(browser, server):
    """Every visible sentence of the Japanese page comes from the Japanese catalogue: what is left in
    Latin letters is names (parameters, methods, code), not English words."""
    open_page(browser, server, input="1 2; 3 4", kernel="1 2 3; 4 5 6; 7 8 9", stride="2", padding="1", lang="ja")
    text = browser.evaluate(
        "(() => { const c = document.getElementById('app').cloneNode(true);"
        " c.querySelectorAll('code, table, figcaption, option, textarea, input, nav.lang').forEach(e => e.remove());"
        " return c.innerText; })()"
    )
    english = {"the", "and", "of", "is", "to", "with", "by", "each", "every", "output", "input", "kernel", "step"}
    words = {w.lower() for w in re.findall(r"[A-Za-z_]+", text)}  # output_padding is a name, not a word
    assert words & english == set()


def test_cards_fill_every_row_of_a_wide_window(browser, server):
    """At 1400 px no card sits beside empty space: a card is the row's width, or shares its row."""
    open_page(browser, server, input="1 2; 3 4", kernel="1 2 3; 4 5 6; 7 8 9", stride="2", padding="1")
    rects = browser.evaluate(
        "(() => { const p = document.querySelector('.panels').getBoundingClientRect();"
        " return [p.width, [...document.querySelectorAll('section.panel')].map(s => { const r = s.getBoundingClientRect();"
        " return [s.id, Math.round(r.top), Math.round(r.width)]; })]; })()"
    )
    width, cards = rects
    assert width > 1000  # two columns
    for name, top, w in cards:
        beside = [other for other, t, _ in cards if t == top and other != name]
        assert w > width - 4 or beside, f"{name} sits alone in half a row"


def test_only_the_wrong_cells_are_struck_through_and_flip_w_is_not_coloured(browser, server):
    open_page(browser, server, input="1 2 3", kernel="1 10 100", stride="2")
    _, d = get_json(f"{server}/api/explain?input=1+2+3&kernel=1+10+100&stride=2&no_torch=1")
    z = d["steps"]["zero_insert"]
    struck = browser.evaluate(
        "[...document.querySelectorAll('#zero-insert table.wrong td')].map(t => t.classList.contains('differs'))"
    )
    assert struck == [a != b for a, b in zip(z["unflipped_output"], z["output"])]
    assert 0 < sum(struck) < len(struck)  # some cells agree by chance (10, 20, 30) and are not struck
    colours = browser.evaluate(
        "[document.querySelector('#zero-insert table.flipped td'), document.querySelector('#output td')]"
        ".map(t => getComputedStyle(t).color)"
    )
    assert colours[0] == colours[1]  # flip(w)'s digits are drawn like every other number
    legend = browser.evaluate("[...document.querySelectorAll('.legend span')].map(s => s.className)")
    assert legend == ["pos", "neg", "zero", "padl", "cur", "keptl", "wrongl"]  # every colour the page uses


def test_stride_one_adjoint_grids_keep_their_cells_square(browser, server):
    open_page(browser, server, input="1 2 3", kernel="1 2", stride="1")
    widths = browser.evaluate("[...document.querySelectorAll('#adjoint td')].map(t => t.getBoundingClientRect().width)")
    assert widths and max(widths) < 60  # a long caption does not stretch y' = conv_transpose(x, w')'s cells


@pytest.mark.parametrize("lang", LANGS)
def test_an_error_at_load_leaves_the_defaults_in_the_boxes(browser, server, lang):
    assert open_page(browser, server, input="1 2", kernel="1", stride="two", lang=lang) == "error"
    boxes = browser.evaluate(
        "['stride', 'padding', 'output_padding', 'dilation', 'groups', 'method']"
        ".map(k => document.getElementById('f-' + k).value)"
    )
    assert boxes == ["two", "0", "0", "1", "1", "all"]
    assert "stride: 'two' must be a whole number" in browser.evaluate("document.querySelector('.status').textContent")
