"""Registry: effect schemas as dicts, and reload with the host's transactional checks."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import fxchain
from conftest import PLUGIN_DIR, cli


def test_effects_are_plain_dicts_like_plugins_list(registry):
    import json

    effects = {e["id"]: e for e in registry.effects()}
    listed = {e["id"]: e for e in json.loads(cli("plugins", "list", "--json").stdout)["effects"]}
    assert set(effects) == set(listed)
    g = effects["blur.gaussian"]
    assert g["kind"] == listed["blur.gaussian"]["kind"] == "filter"
    assert [p["id"] for p in g["params"]] == [p["id"] for p in listed["blur.gaussian"]["params"]]
    sigma = next(p for p in g["params"] if p["id"] == "sigma")
    assert sigma["type"] == "float" and isinstance(sigma["default"], float)
    assert "blur.gaussian.fast" in g["variants"]
    assert effects["blur.gaussian.fast"]["variant_of"] == "blur.gaussian"
    assert len(g["library"]["hash"]) == 64


def test_missing_plugin_folder_is_an_error():
    with pytest.raises(ValueError, match="does not exist"):
        fxchain.Registry(plugin_dirs=["/nonexistent/plugins"], default_plugins=False)


def lib(name: str):
    return next(PLUGIN_DIR.glob(f"libfxchain_{name}.*"))


def test_reload_loads_new_refuses_broken_and_retires_removed(tmp_path):
    shutil.copy(lib("color"), tmp_path)
    reg = fxchain.Registry(plugin_dirs=[str(tmp_path)], default_plugins=False)
    ids = {e["id"] for e in reg.effects()}
    assert "color.invert" in ids and "blur.gaussian" not in ids
    assert reg.reload() == [], "nothing changed"
    chain = fxchain.Chain.from_str('(steps: [(effect: "color.invert")])', registry=reg)
    px = np.full((4, 4, 4), 10, np.uint8)
    # A new library in the folder is loaded.
    shutil.copy(lib("blur"), tmp_path)
    events = reg.reload()
    assert len(events) == 1 and events[0].startswith("loaded "), events
    assert "blur.gaussian" in {e["id"] for e in reg.effects()}
    # A broken build is refused; the previous generation keeps serving.
    color = tmp_path / lib("color").name
    good = color.read_bytes()
    color.write_bytes(b"not a library")
    events = reg.reload()
    assert len(events) == 1 and events[0].startswith("kept the previous build"), events
    assert chain.run(px)[0, 0].tolist() == [245, 245, 245, 10]
    # The same bytes as the generation loaded are no change.
    color.write_bytes(good)
    assert reg.reload() == []
    # A removed library is retired.
    (tmp_path / lib("blur").name).unlink()
    events = reg.reload()
    assert len(events) == 1 and events[0].startswith("retired"), events
    assert "blur.gaussian" not in {e["id"] for e in reg.effects()}
