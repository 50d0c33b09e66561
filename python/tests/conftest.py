"""Shared fixtures: the repository's plugins and CLI, the sample image, and CLI reference renders.

The plugins and the `fxchain` binary are the repository's own builds: `FXCHAIN_PLUGIN_DIR` and
`FXCHAIN_BIN` point at them (default: `target/debug`, which `cargo build --workspace` fills).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fxchain

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = Path(os.environ.get("FXCHAIN_PLUGIN_DIR", ROOT / "target" / "debug"))
BIN = Path(os.environ.get("FXCHAIN_BIN", PLUGIN_DIR / "fxchain"))
SAMPLE = ROOT / "examples" / "images" / "sample.png"
CHAINS = sorted((ROOT / "examples" / "chains").glob("*.ron"))


def cli(*args: str | os.PathLike, check: bool = True) -> subprocess.CompletedProcess:
    """Runs the fxchain CLI over the same plugin folder."""
    cmd = [str(BIN), "--no-default-plugins", "--plugin-dir", str(PLUGIN_DIR), *map(str, args)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} failed ({r.returncode}):\n{r.stderr}")
    return r


def read_rgba(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA"))


@pytest.fixture(scope="session")
def registry() -> fxchain.Registry:
    if not BIN.exists():
        pytest.fail(f"{BIN} is missing: build the workspace first (cargo build --workspace)")
    reg = fxchain.Registry(plugin_dirs=[str(PLUGIN_DIR)], default_plugins=False)
    # Folders of a cargo build also hold the proc-macro library, which is not a plugin.
    assert [e for e in reg.errors if "not an fxchain plugin" not in e] == [], reg.errors
    return reg


@pytest.fixture(scope="session")
def sample() -> np.ndarray:
    """The sample image as the CLI decodes it: H×W×4 uint8."""
    return read_rgba(SAMPLE)


def reads_input(chain: Path) -> bool:
    return bool(fxchain.Chain.load(chain, registry=fxchain.Registry(plugin_dirs=[str(PLUGIN_DIR)], default_plugins=False)).inputs)


@pytest.fixture(scope="session")
def cli_output(tmp_path_factory):
    """`fxchain run` of a chain (on an image file, for chains that read one), decoded to RGBA8."""
    cache: dict[tuple[str, str | None], np.ndarray] = {}
    out_dir = tmp_path_factory.mktemp("cli")

    def render(chain: Path, image: Path | None = None) -> np.ndarray:
        key = (str(chain), str(image) if image else None)
        if key not in cache:
            out = out_dir / f"{chain.stem}-{len(cache)}.png"
            args = ["--quiet", "run", chain, "-o", out]
            if image is not None:
                args += ["-i", image]
            cli(*args)
            cache[key] = read_rgba(out)
        return cache[key]

    return render
