"""A user's config file and KEY VALUE overrides merged into a CfgNode, with errors that name the file and the key.

detectron2 (fvcore/yacs) merges; this module only reads the files first and translates its errors. Before
`cfg.merge_from_file`, `check_config_file` walks the file and its `_BASE_` chain and refuses, by file name, what
detectron2 would report as a RecursionError, TypeError, AttributeError or nothing at all: a missing file or a
folder, a YAML syntax error, an empty file, a top level that is not a mapping, a key repeated inside one mapping
(YAML keeps the last silently) and a circular `_BASE_` chain. detectron2's own errors (unknown key, wrong value
type, odd override list) become `UserInputError`s naming the file or the command line and the key.
`load_config` is the sequence every entry point runs (defaults, file, overrides, the project's validation, whose
ValueErrors become UserInputErrors naming the file); `check_config_inputs` then names a missing local weights file or an unregistered dataset before anything is built.
"""
from __future__ import annotations

import os
import re
from typing import Any, Optional, Sequence

import yaml
from detectron2.config import CfgNode, get_cfg
from detectron2.data import DatasetCatalog
from detectron2.utils.file_io import PathManager

from densepose_ext.config import add_densepose_config, validate_densepose_config
from densepose_ext.utils.cli_errors import UserInputError

BASE_KEY = "_BASE_"
COMMAND_LINE = "command-line overrides"
# yacs: "Type mismatch (<class 'float'> vs. <class 'str'>) with values (0.001 vs. abc) for config key: SOLVER.BASE_LR"
_TYPE_MISMATCH = re.compile(r"Type mismatch \((.*) vs\. (.*)\) with values \((.*) vs\. (.*)\) for config key: (\S+)")
# fvcore "Non-existent config key: MODEL.X" (files), yacs "Non-existent key: MODEL.X" (override lists)
_UNKNOWN_KEY = re.compile(r"Non-existent (?:config )?key: (\S+)")


class _DuplicateKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key repeated inside one mapping (plain YAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} repeated (first on line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def _base_path(base: str, including_file: str) -> str:
    """Where detectron2 looks for a `_BASE_` entry: relative to the including file, `~` expanded."""
    base = os.path.expanduser(base)
    return base if os.path.isabs(base) or "://" in base else os.path.join(os.path.dirname(including_file), base)


def _read_yaml(path: str) -> Any:
    if not os.path.exists(path):
        raise UserInputError(path, "an existing YAML config file", "no such file")
    if os.path.isdir(path):
        raise UserInputError(path, "a YAML config file", "a folder")
    with open(path, encoding="utf-8") as f:
        try:
            return yaml.load(f, Loader=_DuplicateKeyLoader)
        except yaml.constructor.ConstructorError as e:
            if e.problem and e.problem.startswith("key "):
                line = e.problem_mark.line + 1 if e.problem_mark else "?"
                raise UserInputError(path, "each key once per mapping", e.problem, item=f"line {line}") from e
            return {}  # a Python tag: detectron2 decides whether to load it unsafely; nothing more to check here
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
            raise UserInputError(path, "valid YAML", f"a syntax error: {getattr(e, 'problem', None) or e}",
                                 item=where) from e
        except UnicodeDecodeError as e:
            raise UserInputError(path, "a UTF-8 text YAML file", f"binary data ({e.reason})") from e


def check_config_file(path: str, _chain: Sequence[str] = ()) -> None:
    """Raise UserInputError naming the file (and line or key) for what detectron2 cannot merge or would merge
    wrongly; see the module docstring. `path` and every local `_BASE_` it names are read; URLs are left to
    detectron2."""
    if "://" in path:  # e.g. densepose_ext://<shipped model>.yaml: detectron2's PathManager knows the file
        path = PathManager.get_local_path(path)
    real = os.path.realpath(path)
    if real in _chain:
        cycle = " -> ".join([*_chain[_chain.index(real):], real])
        raise UserInputError(path, "a _BASE_ chain without cycles", f"the cycle {cycle}", item=BASE_KEY)
    data = _read_yaml(path)
    if data is None:
        raise UserInputError(path, "a YAML mapping of config keys", "an empty file")
    if not isinstance(data, dict):
        raise UserInputError(path, "a YAML mapping of config keys at the top level", f"a {type(data).__name__}")
    bases = data.get(BASE_KEY, [])
    for base in bases if isinstance(bases, list) else [bases]:
        if not isinstance(base, str):
            raise UserInputError(path, "a file name or a list of file names", repr(base), item=BASE_KEY)
        if "://" in base:
            continue
        resolved = _base_path(base, path)
        if not os.path.isfile(resolved):
            found = "a folder" if os.path.isdir(resolved) else "no such file"
            raise UserInputError(path, "an existing config file (relative to this file)",
                                 f"{base!r} ({resolved}): {found}", item=BASE_KEY)
        check_config_file(resolved, (*_chain, real))


def _translated(error: Exception, source: str) -> UserInputError:
    """detectron2's merge error as a UserInputError naming `source` and the key."""
    text = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
    mismatch = _TYPE_MISMATCH.search(text)
    if mismatch:
        default_type, _, default, value, key = mismatch.groups()
        type_name = re.sub(r"<class '(.*)'>", r"\1", default_type)
        return UserInputError(source, f"a {type_name} like the default {default}", repr(value), item=key)
    unknown = _UNKNOWN_KEY.search(text)
    if unknown:
        return UserInputError(source, "a key of detectron2's or densepose_ext's config (densepose_ext/config.py)",
                              "an unknown key", item=unknown.group(1))
    return UserInputError(source, "a valid config", text)


def merge_config_file(cfg: CfgNode, path: str) -> None:
    """`cfg.merge_from_file(path)` after `check_config_file`; its errors name `path` (or its _BASE_ chain) and the key."""
    check_config_file(path)
    try:
        cfg.merge_from_file(path)
    except (KeyError, ValueError, AssertionError) as e:
        raise _translated(e, f"{path} (or its {BASE_KEY} files)") from e


def merge_config_opts(cfg: CfgNode, opts: Sequence[str]) -> None:
    """`cfg.merge_from_list(opts)` (KEY VALUE pairs); its errors name the key."""
    if len(opts) % 2:
        raise UserInputError(COMMAND_LINE, "KEY VALUE pairs", f"{len(opts)} words, the last ({opts[-1]!r}) "
                             "without a value")
    try:
        cfg.merge_from_list(list(opts))
    except (KeyError, ValueError, AssertionError) as e:
        raise _translated(e, COMMAND_LINE) from e


def load_config(path: str, opts: Sequence[str] = ()) -> CfgNode:
    """detectron2's defaults + the DensePose keys, `path`, then `opts`, validated (config.validate_densepose_config)
    before anything is built; unfrozen. Every error is a UserInputError naming `path` or the command line."""
    cfg = get_cfg()
    add_densepose_config(cfg)
    merge_config_file(cfg, path)
    merge_config_opts(cfg, opts)
    try:
        validate_densepose_config(cfg)
    except UserInputError:
        raise
    except ValueError as e:  # the project's refusal of a key's value: its message names key and expectation
        source = f"{path} with the {COMMAND_LINE}" if opts else path
        raise UserInputError(source, "a supported DensePose config", str(e), message=f"{source}: {e}") from e
    return cfg


def check_config_inputs(cfg: CfgNode, source: str, weights: bool = True) -> None:
    """Raise UserInputError for what the config names but cannot be found: a local MODEL.WEIGHTS file (when
    `weights`), a dataset of DATASETS.TRAIN / DATASETS.TEST not in detectron2's DatasetCatalog. `source` names the
    config in messages."""
    if weights and cfg.MODEL.WEIGHTS:
        check_weights_file(cfg.MODEL.WEIGHTS, source, item="MODEL.WEIGHTS")
    for key in ("TRAIN", "TEST"):
        for name in cfg.DATASETS[key]:
            check_dataset_name(name, source, item=f"DATASETS.{key}")


def check_dataset_name(name: str, source: str, item: Optional[str] = None) -> None:
    """Raise UserInputError naming `source` (a config file or an option) unless `name` is a registered dataset."""
    registered = DatasetCatalog.list()
    if name not in registered:
        raise UserInputError(source, f"a registered dataset, one of {sorted(registered)}", repr(name), item=item)


def check_weights_file(weights: str, source: str, item: Optional[str] = None) -> None:
    """Raise UserInputError naming `source` unless `weights` is an existing local file or a URL."""
    if "://" not in weights and not os.path.isfile(weights):
        found = "a folder" if os.path.isdir(weights) else "no such file"
        raise UserInputError(source, "an existing checkpoint file (.pth / .pkl) or a URL", f"{weights!r}: {found}",
                             item=item)
