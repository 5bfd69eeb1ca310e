"""Reading YAML files (configs, settings) as data, with errors that name the file, line and column.

PyYAML follows YAML 1.1, where `1e-4` (no dot) is a string; `Loader` reads it as the float users mean
(YAML 1.2's rule). A syntax error, a tab used for indentation or bytes that are not UTF-8 raise
`YamlFileError` (a ValueError: the scripts exit 2 on it) in one line: `<file>:<line>:<column>: <problem>`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Loader", "YamlFileError", "load_yaml_file", "parse_yaml_value"]

class Loader(yaml.SafeLoader):
    """yaml.SafeLoader that also reads exponent floats without a dot (`1e-4`) as floats."""


# YAML 1.2's exponent floats that YAML 1.1 reads as strings: 1e-4, 2E5, 1.0e5, .5e-3 (1.1 wants a dot and a sign)
Loader.add_implicit_resolver("tag:yaml.org,2002:float",
                             re.compile(r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"), list("-+.0123456789"))


class YamlFileError(ValueError):
    """A YAML file that cannot be read: the message names the file, line and column, and the fix."""


def _hint(problem: str) -> str:
    if "'\\t'" in problem or "tab" in problem:
        return " (YAML indents with spaces: replace the tab characters by spaces)"
    return ""


def parse_yaml_value(text: str) -> Any:
    """One value written as YAML (`1e-4`, `[LASOT, COCO17]`, `True`, `abc`); raises yaml.YAMLError."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a SafeLoader


def load_yaml_file(path: str | Path) -> Any:
    """The data of the YAML file `path` (None when empty); a file that is not UTF-8 or not valid YAML raises
    YamlFileError naming `path`, line and column."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlFileError(f"{path}:{line}:{column}: byte {raw[exc.start:exc.start + 1]!r} is not UTF-8 text; "
                            "save the file as UTF-8") from None
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise YamlFileError(f"{where}: YAML syntax error: {problem}{_hint(problem)}") from None
    except yaml.YAMLError as exc:
        raise YamlFileError(f"{path}: YAML error: {exc}") from None
