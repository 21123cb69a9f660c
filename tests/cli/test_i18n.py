"""The catalogues of ``src/tconv/explainer/lang/``: every English string has an entry in every other
language, with the same placeholders; no entry is left in English by mistake; every key the code
looks up exists, and every entry is looked up somewhere."""

import json
import pathlib
import re

import pytest

import tconv
from tconv.errors import TConvError
from tconv.explainer.i18n import LANGS, PLACEHOLDER, catalogue, check_lang, messages

SRC = pathlib.Path(tconv.__file__).parent
OTHERS = [lang for lang in LANGS if lang != "en"]
#: Entries that are formulas, code or names in every language: they may read the same as the English.
NEUTRAL = {
    "text.result.layer",
    "text.result.torch_skipped",
    "text.adjoint.padding_dropped",
    "shape.torch",
    "pic.is_x",
    "pic.header",
    "page.hint.output_padding",
}
#: The letters of a language, for "is this entry written in it" (a language without a row here is not checked).
SCRIPT = {"ja": re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]")}


def _forms(entry) -> list[str]:
    return list(entry.values()) if isinstance(entry, dict) else [entry]


def test_languages():
    assert LANGS[0] == "en" and "ja" in LANGS
    with pytest.raises(TConvError, match=r"lang: 'xx' is not a language of the explainer \(one of: en, ja\)"):
        check_lang("xx")


@pytest.mark.parametrize("lang", OTHERS)
def test_every_english_string_has_an_entry(lang):
    en, other = catalogue("en"), catalogue(lang)
    assert sorted(set(en) - set(other)) == []
    assert sorted(set(other) - set(en)) == []


@pytest.mark.parametrize("lang", OTHERS)
def test_the_same_placeholders(lang):
    en, other = catalogue("en"), catalogue(lang)
    for key, entry in en.items():
        want = {name for form in _forms(entry) for name in PLACEHOLDER.findall(form)}
        for form in _forms(other[key]):
            assert set(PLACEHOLDER.findall(form)) <= want | {"n"}, key
        got = {name for form in _forms(other[key]) for name in PLACEHOLDER.findall(form)}
        assert got >= want - {"n"}, f"{lang} {key}: lacks {want - got - {'n'}}"


@pytest.mark.parametrize("lang", LANGS)
def test_only_name_placeholders(lang):
    """``{name}`` is the one syntax (the page's script fills it the same way); no other braces."""
    for key, entry in catalogue(lang).items():
        for form in _forms(entry):
            assert re.sub(r"\{\w+\}", "", form).count("{") == 0, key


@pytest.mark.parametrize("lang", [lang for lang in OTHERS if lang in SCRIPT])
def test_no_entry_left_in_english(lang):
    en, other = catalogue("en"), catalogue(lang)
    left = [k for k, v in other.items() if k not in NEUTRAL and (v == en[k] or not SCRIPT[lang].search(str(v)))]
    assert left == []
    assert [k for k in NEUTRAL if SCRIPT[lang].search(str(other[k]))] == []  # a neutral entry that is not


def test_every_key_looked_up_exists_and_every_entry_is_looked_up():
    code = "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py")) + (
        SRC / "explainer" / "web_assets" / "explain.js"
    ).read_text(encoding="utf-8")
    literal = set(re.findall(r"""\b[tT]\(\s*["']([a-z0-9_.]+)["']""", code))
    literal |= set(re.findall(r"""["']((?:text|page|pic|art|shape|cli|reason|note)\.[a-z0-9_.]+)["']""", code))
    literal = {k for k in literal if not k.endswith(".") and k != "page.html"}  # a prefix, a file name
    keys = set(catalogue("en"))
    assert sorted(literal - keys) == []
    # keys made from a prefix: step kinds, verdicts, fields, examples, and each catalogue's name
    from tconv.examples import EXAMPLES
    from tconv.explainer.compute import STEP_KINDS

    built = {f"heading.{k}" for k in STEP_KINDS} | {f"example.{n}" for n in EXAMPLES} | {"lang.name"}
    built |= {f"art.verdict.{v}" for v in ("even", "holes", "uneven")}
    fields = ("input", "kernel", "stride", "padding", "output_padding", "dilation", "groups")
    built |= {f"page.field.{f}" for f in (*fields, "method")} | {f"page.hint.{f}" for f in fields}
    assert sorted(built - keys) == []
    assert sorted(keys - literal - built) == []


@pytest.mark.parametrize("lang", LANGS)
def test_plural_entries(lang):
    t = messages(lang)
    one, two = (t("text.poly.phase", p=0, where="0::2", taps="0,2", n=n) for n in (1, 2))
    assert "{" not in one + two and "tap)" in (one if lang == "en" else "tap)")  # English says "1 tap", "2 taps"


def test_catalogues_are_plain_json_objects():
    for path in (SRC / "explainer" / "lang").glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert all(isinstance(v, (str, dict)) for v in data.values()), path.name


def _keys(v, path=""):
    """Every key path of a JSON value, and the numbers at each (strings only as 'str')."""
    if isinstance(v, dict):
        return {k: _keys(x, f"{path}.{k}") for k, x in v.items()}
    if isinstance(v, list):
        return [_keys(x, path) for x in v]
    return "str" if isinstance(v, str) else v


@pytest.mark.parametrize("lang", OTHERS)
@pytest.mark.parametrize(
    "args",
    [
        dict(input=[[1, 2], [3, 4]], kernel=[[1, 2, 3], [4, 5, 6], [7, 8, 9]], stride=2, padding=1),
        dict(
            input=[[1, 2], [3, 4], [0, 1], [2, -1]],
            kernel=[[[1, 1]], [[2, 0]], [[1, -1]], [[0, 3]]],
            groups=2,
            stride=2,
        ),
        dict(input=[1, 2, 3], kernel=[1, 2, 3], stride=3, dilation=2),
    ],
)
def test_the_json_keys_and_numbers_do_not_depend_on_the_language(lang, args):
    en, other = tconv.explain(**args), tconv.explain(**args, lang=lang)
    a, b = json.loads(en.to_json()), json.loads(other.to_json())
    assert a.pop("lang") == "en" and b.pop("lang") == lang
    assert _keys(a) == _keys(b)  # same keys, same numbers; only the strings differ
    assert a["steps"]["adjoint"]["title"] != b["steps"]["adjoint"]["title"]


def test_explain_in_japanese_prints_and_displays_in_japanese():
    e = tconv.explain([1, 2, 3], [1, 10, 100], stride=2, lang="ja")
    assert e.output.tolist() == [1, 10, 102, 20, 203, 30, 300]
    text = str(e)
    assert "出力サイズ" in text and "逆ではなく随伴" in text and "1   10  102   20  203   30  300" in text
    assert "1. Output size" in e.text(lang="en")
    page = e._repr_html_()
    assert 'lang="ja"' in page and "転置畳み込み" in page
    assert repr(e).endswith("lang ja -> output (7); print() shows the steps)")
    with pytest.raises(TConvError, match="^lang: 'fr' is not a language"):
        tconv.explain([1], [1], lang="fr")


def test_the_api_answers_in_the_language_asked():
    from tconv.serve.api import explain_json

    a = json.loads(explain_json("input=1+2&kernel=1+1&stride=2&no_torch=1"))
    b = json.loads(explain_json("input=1+2&kernel=1+1&stride=2&no_torch=1&lang=ja"))
    assert a["output"] == b["output"] and b["steps"]["result"]["title"] == "結果"
    with pytest.raises(TConvError, match="^lang: 'xx'"):
        explain_json("input=1&kernel=1&lang=xx")


def test_pictures_fall_back_to_english_and_say_so(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    from tconv.cli.main import main
    from tconv.explainer.palette import font_path, picture_lang

    assert pathlib.Path(font_path()).name == "DejaVuSans.ttf"
    assert picture_lang("en") == "en" and picture_lang("ja") == "en"  # DejaVu Sans has no Japanese glyphs
    assert main(["explain", "--example", "1d", "--lang", "ja", "--out", str(tmp_path / "s.png")]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("tconv: ") and "に書き出しました" in out
    assert err == catalogue("ja")["cli.pictures_english"] + "\n"
    assert main(["explain", "--example", "1d", "--out", str(tmp_path / "s.gif")]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("argv", [["explain", "--lang", "fr"], ["shape", "-i", "4", "-k", "3", "--lang", "de"]])
def test_an_unknown_lang_is_one_line(argv, capsys):
    from tconv.cli.main import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--lang" in err and "one of: en, ja" in err
