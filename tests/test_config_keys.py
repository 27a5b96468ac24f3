"""No config key is accepted and silently ignored: every key add_densepose_config adds is read by the code or
refused when changed (densepose_ext/unsupported_keys.py, docs/CONFIG_KEYS.md)."""
import inspect
import re
from pathlib import Path

from detectron2.config import CfgNode, get_cfg

from densepose_ext.config import add_densepose_config
from densepose_ext.unsupported_keys import UNSUPPORTED_KEYS

REPO = Path(__file__).resolve().parents[1]
# Where keys may be read: the package and the two entry points, less the code that defines the keys
# (add_densepose_config) and the table that refuses them; config.py's validation reads keys too.
SOURCES = {p: p.read_text() for p in [*sorted((REPO / "densepose_ext").rglob("*.py")),
                                      REPO / "train_net.py", REPO / "apply_net.py"]
           if p.name != "unsupported_keys.py"}
CONFIG_PY = REPO / "densepose_ext" / "config.py"
SOURCES[CONFIG_PY] = SOURCES[CONFIG_PY].replace(inspect.getsource(add_densepose_config), "")


def _leaves(node: CfgNode, prefix=()):
    for key, value in node.items():
        if isinstance(value, CfgNode) and value:
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key)


def added_keys():
    """Leaf paths (tuples) that add_densepose_config adds to detectron2's defaults."""
    base = set(_leaves(get_cfg()))
    cfg = get_cfg()
    add_densepose_config(cfg)
    return sorted(set(_leaves(cfg)) - base)


def refused(path) -> bool:
    return any(".".join(path[:n]) in UNSUPPORTED_KEYS for n in range(1, len(path) + 1))


def read_by(path):
    """Files that read the key: `PARENT.LEAF` (cfg.MODEL.X.LEAF), or `.LEAF` / `"LEAF"` in a file that also
    names its parent (h = cfg.MODEL.ROI_DENSEPOSE_HEAD; h.LEAF, or a loop over leaf names)."""
    leaf, parent = path[-1], path[-2] if len(path) > 1 else None
    direct = re.compile(rf"\b{re.escape(parent)}\.{re.escape(leaf)}\b" if parent else rf"\bcfg\.{leaf}\b")
    aliased = re.compile(rf"(\.{re.escape(leaf)}\b|[\"']{re.escape(leaf)}[\"'])")
    return [p for p, text in SOURCES.items()
            if direct.search(text) or (parent and parent in text and aliased.search(text))]


def test_every_added_key_is_read_or_refused():
    keys = added_keys()
    assert len(keys) > 40 and ("MODEL", "ROI_DENSEPOSE_HEAD", "NUM_COARSE_SEGM_CHANNELS") in keys
    ignored = [".".join(k) for k in keys if not refused(k) and not read_by(k)]
    assert ignored == [], f"config keys accepted but neither read nor refused: {ignored}"


def test_refused_keys_are_documented():
    doc = (REPO / "docs" / "CONFIG_KEYS.md").read_text()
    refused_section = doc[:doc.index("## Reference keys implemented")]
    missing = [k for k in UNSUPPORTED_KEYS if f"`{k}" not in refused_section]
    assert missing == []


def test_the_check_sees_an_unread_key():
    """The search is precise enough to miss a key nothing reads (a key that exists only in config.py)."""
    assert read_by(("MODEL", "ROI_DENSEPOSE_HEAD", "NO_SUCH_KEY_ANYWHERE")) == []
    assert read_by(("MODEL", "ROI_DENSEPOSE_HEAD", "NUM_COARSE_SEGM_CHANNELS"))
