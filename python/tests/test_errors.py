"""ChainError carries the same diagnostics, at the same line:col, as `fxchain chain check`."""

from __future__ import annotations

import re

import pytest

import fxchain
from conftest import cli

BAD = {
    "unknown-effect-and-types": """(steps: [
    (effect: "blur.gaussan", params: {"sigma": 2.0}),
    (effect: "color.brightness", params: {"amount": true}),
])""",
    "syntax": """(steps: [
    (effect: "blur.gaussian" params: {"sigma": 2.0}),
])""",
    "unknown-param-and-input": """(steps: [
    (id: "a", effect: "blur.gaussian", params: {"sigmaa": 2.0}),
    (effect: "color.invert", input: "nope"),
])""",
    "out-of-range": """(steps: [(effect: "blur.gaussian", params: {"sigma": -4.0})])""",
}

# The first line of each miette report: `× FILE:LINE:COL: MESSAGE`.
HEADER = re.compile(r"×\s+(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.*)$")


def cli_diagnostics(path) -> list[tuple[str, int, int, str]]:
    r = cli("chain", "check", path, check=False)
    assert r.returncode == 2, r
    found = []
    for line in r.stderr.splitlines():
        m = HEADER.search(line)
        if m:
            found.append((m["file"], int(m["line"]), int(m["col"]), m["message"]))
    return found


@pytest.mark.parametrize("name", BAD)
def test_chain_error_matches_chain_check(name, registry, tmp_path):
    path = tmp_path / f"{name}.ron"
    path.write_text(BAD[name])
    expected = cli_diagnostics(path)
    assert expected, "the CLI reported no located error"
    with pytest.raises(fxchain.ChainError) as e:
        fxchain.Chain.load(path, registry=registry)
    got = e.value.diagnostics
    assert [(d["file"], d["line"], d["column"]) for d in got] == [(f, l, c) for f, l, c, _ in expected]
    for d, (_, _, _, message) in zip(got, expected):
        # The CLI's header is the message followed by the help in parentheses.
        text = d["message"] + (f" ({d['help']})" if d["help"] else "")
        assert text == message
    # The same problems come from text, under the name given.
    with pytest.raises(fxchain.ChainError) as e2:
        fxchain.Chain.from_str(BAD[name], registry=registry, name=str(path))
    assert e2.value.diagnostics == got
    assert str(path) in str(e2.value)


def test_unknown_effect_suggests_the_closest(registry):
    with pytest.raises(fxchain.ChainError) as e:
        fxchain.Chain.from_str(BAD["unknown-effect-and-types"], registry=registry)
    first = e.value.diagnostics[0]
    assert (first["line"], first["column"]) == (2, 14)
    assert "blur.gaussian" in first["help"]


def test_bad_overrides_are_chain_errors(registry, sample):
    chain = fxchain.Chain.from_str('(steps: [(id: "b", effect: "blur.gaussian")])', registry=registry)
    with pytest.raises(fxchain.ChainError, match="sigma"):
        chain.run(sample, set={"b.sigma": "wide"})
    with pytest.raises(ValueError, match="STEP.PARAM=VALUE"):
        chain.run(sample, set={"sigma": 1.0})
    with pytest.raises(ValueError, match="quality"):
        chain.run(sample, quality="best")


def test_missing_file_is_a_chain_error(registry, tmp_path):
    with pytest.raises(fxchain.ChainError, match="cannot read the chain") as e:
        fxchain.Chain.load(tmp_path / "none.ron", registry=registry)
    assert e.value.diagnostics == []
