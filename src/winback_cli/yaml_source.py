"""Strict loading of the rules YAML, so that every config error can name its line.

`load_yaml_text` and `load_yaml_file` compose the node tree once with a
`yaml.SafeLoader` subclass and refuse what `yaml.safe_load` would accept
silently or reject without a line: duplicate keys, tabs, tags other than plain
data (`!!python/...` is never constructed), impossible dates. They return a
`YamlDoc`: the plain data plus the line and original text of any key or item.
`format_validation_error` turns a pydantic `ValidationError` raised on that
data into one `RulesError` listing every problem as `<file>, line N: ...`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from winback_cli.errors import RulesError

if TYPE_CHECKING:
    import pydantic

MAX_VALUES = 100_000  # values a rules file may expand to (aliases included)

YamlPath = tuple[str | int, ...]
AllowedKeys = Callable[[tuple[Any, ...]], Iterable[str]]

_YAML_TAG = "tag:yaml.org,2002:"
# `<<` (merge) and `=` (value) keys are resolved by SafeLoader while flattening a mapping.
_KEY_ONLY_TAGS = {_YAML_TAG + "merge", _YAML_TAG + "value"}
_ALLOWED_TAGS = {tag for tag in yaml.SafeLoader.yaml_constructors if tag is not None}
_BOOL_WORDS = {"yes", "no", "on", "off"}  # YAML 1.1 booleans that people mean as text
_MAX_ERRORS = 20
_TAB_MESSAGE = "tabs are not allowed for indentation in YAML; use spaces"
_SYNTAX_HINTS = {
    "mapping values are not allowed": "quote a value that contains ': ', or fix the indentation",
    "could not find expected ':'": "a key needs ':' after it; quote text that spans lines",
    "but found another document": "the file holds more than one document ('---'); keep one",
    "found unexpected end of stream": "a quote or bracket is not closed",
    "expected <block end>": "this line's indentation does not match the lines above it",
    "found undefined alias": "an '*alias' needs an '&anchor' of the same name above it",
}


@dataclass(frozen=True)
class YamlDoc:
    """Data loaded from YAML plus the line and source text of each key and item."""

    data: Any
    source: str
    _root: yaml.Node | None = field(default=None, repr=False, compare=False)
    _entries: dict[int, dict[Any, tuple[yaml.Node, yaml.Node]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _text: str = field(default="", repr=False, compare=False)

    def line_of(self, path: YamlPath) -> int | None:
        """1-based line of the key or list item at `path`, else of its nearest parent."""
        return self._find(path)[1]

    def raw_of(self, path: YamlPath) -> str | None:
        """The scalar at `path` exactly as written (quotes included), or None if not a scalar."""
        node, _, found = self._find(path)
        if not found or not isinstance(node, yaml.ScalarNode):
            return None
        return self._text[node.start_mark.index : node.end_mark.index]

    def _find(self, path: YamlPath) -> tuple[yaml.Node | None, int | None, bool]:
        node = self._root
        if node is None:
            return None, None, False
        line = node.start_mark.line + 1
        for part in path:
            child = self._child(node, part)
            if child is None:
                return node, line, False
            line, node = child
        return node, line, True

    def _child(self, node: yaml.Node, part: str | int) -> tuple[int, yaml.Node] | None:
        if isinstance(node, yaml.MappingNode):
            hit = self._entries.get(id(node), {}).get(part)
            if hit is not None:
                return hit[0].start_mark.line + 1, hit[1]
        elif isinstance(node, yaml.SequenceNode) and _is_index(part, node.value):
            item = node.value[part]
            return item.start_mark.line + 1, item
        return None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that checks the composed tree before constructing any of it."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        try:  # the reader refuses control characters as soon as it is created
            super().__init__(text)
        except yaml.reader.ReaderError as exc:
            line = text.count("\n", 0, exc.position) + 1
            raise self._error(
                line, f"character {exc.character:#06x} is not allowed; remove it or quote it"
            ) from None

    def load_doc(self) -> YamlDoc:
        try:
            root = self.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise self._syntax_error(exc) from None
        if root is None:  # empty file or only comments
            return YamlDoc({}, self.source)
        entries = self._check_tree(root)
        self._check_size(root)
        try:
            data = self.construct_document(root)
        except yaml.MarkedYAMLError as exc:
            raise self._syntax_error(exc) from None
        return YamlDoc(data, self.source, root, entries, self.text)

    def _check_size(self, root: yaml.Node) -> None:
        """Refuse aliases that expand into a huge document (a "billion laughs" file)."""
        sizes: dict[int, int] = {}

        def size(node: yaml.Node) -> int:
            if id(node) in sizes:
                return sizes[id(node)]
            sizes[id(node)] = MAX_VALUES + 1  # a node that contains itself is too big
            if isinstance(node, yaml.ScalarNode):
                total = 1
            elif isinstance(node, yaml.SequenceNode):
                total = 1 + sum(size(child) for child in node.value)
            else:
                total = 1 + sum(size(key) + size(value) for key, value in node.value)
            sizes[id(node)] = min(total, MAX_VALUES + 1)
            return sizes[id(node)]

        if size(root) > MAX_VALUES:
            raise self._error(
                root.start_mark.line + 1,
                f"the document expands to more than {MAX_VALUES:,} values through "
                "*aliases; a rules file is small, so write the values out instead",
            )

    def _check_tree(self, root: yaml.Node) -> dict[int, dict[Any, tuple[yaml.Node, yaml.Node]]]:
        """Refuse bad tags, keys and scalars, in document order; index each mapping by key."""
        entries: dict[int, dict[Any, tuple[yaml.Node, yaml.Node]]] = {}
        seen: set[int] = set()
        stack = [root]
        while stack:
            node = stack.pop()
            if id(node) in seen:  # aliases share nodes, and may even be recursive
                continue
            seen.add(id(node))
            self._check_tag(node)
            if isinstance(node, yaml.ScalarNode):
                self._scalar(node)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(reversed(node.value))
            else:
                entries[id(node)] = self._mapping_entries(node)
                stack.extend(reversed([value for _, value in node.value]))
        return entries

    def _mapping_entries(self, node: yaml.MappingNode) -> dict[Any, tuple[yaml.Node, yaml.Node]]:
        found: dict[Any, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag in _KEY_ONLY_TAGS:
                continue
            self._check_tag(key_node)
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._error(line, "a key must be plain text, not a list or mapping")
            key = self._scalar(key_node)
            if key in found:
                first = found[key][0].start_mark.line + 1
                raise self._error(
                    line,
                    f"duplicate key {key_node.value!r} (first on line {first}); "
                    "each key may appear only once in a mapping: remove or rename one",
                )
            found[key] = (key_node, value_node)
        return found

    def _check_tag(self, node: yaml.Node) -> None:
        if node.tag not in _ALLOWED_TAGS:
            tag = node.tag.replace(_YAML_TAG, "!!", 1)
            raise self._error(
                node.start_mark.line + 1,
                f"tag {tag!r} is not allowed; rules files hold plain data only",
            )

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        # Constructed once here so a bad value names its line; construct_document reuses it.
        try:
            return self.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            tag = node.tag.replace(_YAML_TAG, "!!", 1)
            problem = getattr(exc, "problem", None) or str(exc)
            raise self._error(
                node.start_mark.line + 1,
                f"{node.value!r} cannot be read as {tag} ({problem}); quote it if you mean text",
            ) from None

    def _syntax_error(self, exc: yaml.MarkedYAMLError) -> RulesError:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            return self._error(1, f"YAML syntax error: {problem}")
        if "'\\t'" in problem:
            before = self.text[mark.index - mark.column : mark.index]
            if not before.strip():
                return self._error(mark.line + 1, _TAB_MESSAGE)
            return self._error(mark.line + 1, f"a tab at column {mark.column + 1}; use spaces")
        text = f"YAML syntax error at column {mark.column + 1}: {problem}"
        context_mark = exc.context_mark
        if exc.context and context_mark is not None and context_mark.line != mark.line:
            text += f" ({exc.context}, see line {context_mark.line + 1})"
        hint = next((h for key, h in _SYNTAX_HINTS.items() if key in problem), None)
        return self._error(mark.line + 1, f"{text}; {hint}" if hint else text)

    def _error(self, line: int, text: str) -> RulesError:
        return RulesError(f"{self.source}, line {line}: {text}")


def load_yaml_text(text: str, source: str) -> YamlDoc:
    """Parse YAML text strictly; `source` names it in every error message."""
    return _StrictLoader(text, source).load_doc()


def load_yaml_file(path: Path) -> YamlDoc:
    """Read a UTF-8 YAML file (a BOM is fine) and parse it strictly."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise RulesError(f"{path}: rules file not found; check the path") from None
    except OSError as exc:
        raise RulesError(f"{path}: cannot read the rules file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RulesError(
            f"{path}, line {line}: the file is not UTF-8 (byte {raw[exc.start]:#04x}); "
            "save it as UTF-8"
        ) from None
    return load_yaml_text(text, str(path))


def bool_trap_message(doc: YamlDoc, path: YamlPath) -> str | None:
    """A hint when a plain yes/no/on/off at `path` was read as a boolean, else None."""
    value: Any = doc.data
    for part in path:
        found, value = _step(value, part)
        if not found:
            return None
    raw = doc.raw_of(path)
    if not isinstance(value, bool) or raw is None:
        return None
    if raw.strip().lower() not in _BOOL_WORDS:
        return None
    return (
        f"{raw!r} was read as the boolean {str(value).lower()}; "
        f'quote it as "{raw}" if you mean the text'
    )


def format_validation_error(
    exc: pydantic.ValidationError,
    doc: YamlDoc,
    allowed_keys: AllowedKeys | None = None,
) -> RulesError:
    """One RulesError listing every pydantic error with its YAML line, sorted by line.

    `allowed_keys(loc)` may return the keys allowed in the mapping at pydantic
    location `loc` (tag names of discriminated unions included) so an unknown
    key gets a "did you mean" suggestion. Raise the result `from None`.
    """
    problems = sorted(
        (_describe(error, doc, allowed_keys) for error in exc.errors()), key=lambda p: p[0]
    )
    lines = [f"{doc.source}, line {line}: {text}" for line, text in problems[:_MAX_ERRORS]]
    if len(problems) > _MAX_ERRORS:
        lines.append(f"… and {len(problems) - _MAX_ERRORS} more")
    return RulesError("\n".join(lines))


def _describe(error: Any, doc: YamlDoc, allowed_keys: AllowedKeys | None) -> tuple[int, str]:
    loc = tuple(error["loc"])
    path, shown = _resolve(doc.data, loc)
    line = doc.line_of(path) or 1
    kind = error["type"]
    if kind == "extra_forbidden" and loc:
        return line, _unknown_key(loc, shown, allowed_keys)
    if kind == "missing" and shown:
        where = f"{_dotted(shown[:-1])}: " if len(shown) > 1 else ""
        return line, f"{where}required key {shown[-1]!r} is missing"
    text = f"{_dotted(shown)}: {error['msg']} (found: {_short_repr(error.get('input'))})"
    hint = bool_trap_message(doc, path)
    return line, f"{text}; {hint}" if hint else text


def _unknown_key(loc: tuple[Any, ...], shown: YamlPath, allowed_keys: AllowedKeys | None) -> str:
    key = loc[-1]
    text = f"unknown key {key!r}"
    if len(shown) > 1:
        text += f" in {_dotted(shown[:-1])}"
    if isinstance(key, bool):
        return text + " (YAML reads yes/no/on/off as booleans; quote the key)"
    allowed = sorted(str(k) for k in allowed_keys(loc[:-1])) if allowed_keys else []
    close = difflib.get_close_matches(str(key), allowed, n=1)
    if close:
        return text + f"; did you mean {close[0]!r}?"
    if allowed:
        return text + f" (allowed: {', '.join(allowed)})"
    return text


def _resolve(data: Any, loc: tuple[Any, ...]) -> tuple[YamlPath, YamlPath]:
    """The YAML path a pydantic loc points at, skipping parts (union tags) absent from the data.

    The second result also keeps a trailing key that is absent (a missing key).
    """
    path: list[str | int] = []
    for position, part in enumerate(loc):
        found, child = _step(data, part)
        if found:
            data = child
            path.append(part)
        elif position == len(loc) - 1 and isinstance(data, dict) and isinstance(part, str):
            return tuple(path), (*path, part)
    return tuple(path), tuple(path)


def _step(data: Any, part: Any) -> tuple[bool, Any]:
    if isinstance(data, dict) and isinstance(part, str | int) and part in data:
        return True, data[part]
    if isinstance(data, list) and _is_index(part, data):
        return True, data[part]
    return False, None


def _dotted(path: YamlPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_index(part: Any, items: list[Any]) -> bool:
    return isinstance(part, int) and not isinstance(part, bool) and 0 <= part < len(items)
