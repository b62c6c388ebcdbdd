"""Examples of strict YAML loading: lines for every node, and errors that name them."""

from __future__ import annotations

import os
import re
import textwrap
from typing import Annotated, Any, Literal

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from winback_cli.errors import ExitCode, RulesError
from winback_cli.yaml_source import (
    YamlDoc,
    bool_trap_message,
    format_validation_error,
    load_yaml_file,
    load_yaml_text,
)

RULES = textwrap.dedent(
    """\
    # a comment on line 1
    name: spring campaign
    triggers:
      - kind: inactive
        months: 6
      - kind: decline
        share: 0.5
    playbook:
      gold:
        channel: phone
    """
)


def load(text: str) -> YamlDoc:
    return load_yaml_text(textwrap.dedent(text), "rules.yaml")


def error_of(text: str) -> str:
    with pytest.raises(RulesError) as info:
        load(text)
    assert info.value.exit_code == ExitCode.USAGE_ERROR
    return str(info.value)


# --- data and lines -------------------------------------------------------------------


def test_data_is_what_safe_load_gives():
    doc = load(RULES)
    assert doc.data == yaml.safe_load(RULES)
    assert doc.source == "rules.yaml"


def test_line_of_nested_keys_and_list_items():
    doc = load(RULES)
    assert doc.line_of(()) == 2
    assert doc.line_of(("name",)) == 2
    assert doc.line_of(("triggers",)) == 3
    assert doc.line_of(("triggers", 0)) == 4
    assert doc.line_of(("triggers", 1)) == 6
    assert doc.line_of(("triggers", 1, "share")) == 7
    assert doc.line_of(("playbook", "gold", "channel")) == 10


def test_line_of_an_absent_path_falls_back_to_the_nearest_parent():
    doc = load(RULES)
    assert doc.line_of(("triggers", 1, "missing", "deeper")) == 6
    assert doc.line_of(("triggers", 9)) == 3
    assert doc.line_of(("nothing",)) == 2


def test_raw_of_gives_the_scalar_as_written():
    doc = load(
        """\
        a: NO
        b: "NO"
        c: 0.50
        d: [x, y]
        """
    )
    assert doc.raw_of(("a",)) == "NO"
    assert doc.raw_of(("b",)) == '"NO"'
    assert doc.raw_of(("c",)) == "0.50"
    assert doc.raw_of(("d", 1)) == "y"
    assert doc.raw_of(("d",)) is None
    assert doc.raw_of(("zzz",)) is None


def test_anchors_and_merge_keys_load_like_safe_load():
    text = textwrap.dedent(
        """\
        base: &base
          channel: letter
          cost: 2
        gold:
          <<: *base
          channel: phone
        """
    )
    doc = load(text)
    assert doc.data == yaml.safe_load(text)
    assert doc.data["gold"] == {"channel": "phone", "cost": 2}
    assert doc.line_of(("gold", "channel")) == 6
    assert doc.line_of(("gold", "cost")) == 4  # merged in: the line of the mapping using it


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_file_is_an_empty_mapping(text):
    doc = load_yaml_text(text, "rules.yaml")
    assert doc.data == {}
    assert doc.line_of(("anything",)) is None


def test_a_doc_is_frozen():
    doc = load("a: 1\n")
    with pytest.raises(AttributeError):
        doc.data = {}  # type: ignore[misc]


# --- errors while loading ---------------------------------------------------------------


def test_syntax_error_names_line_column_and_problem():
    message = error_of(
        """\
        name: x
        note: a: b
        """
    )
    assert message.startswith("rules.yaml, line 2: YAML syntax error at column 8:")
    assert "mapping values are not allowed here" in message
    assert "quote a value" in message


def test_bad_indentation_names_its_line():
    message = error_of(
        """\
        playbook:
          gold: 1
         silver: 2
        """
    )
    assert message.startswith("rules.yaml, line 3: YAML syntax error")
    assert "indentation" in message


def test_unclosed_quote_says_so():
    message = error_of("name: 'spring\n")
    assert message.startswith("rules.yaml, line 2:")
    assert "started" not in message
    assert "see line 1" in message
    assert "not closed" in message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("triggers:\n\t- kind: inactive\n", 2),
        ("a:\n  b: 1\n  \tc: 2\n", 3),
    ],
)
def test_tabs_for_indentation_are_refused_with_their_line(text, line):
    message = error_of(text)
    assert message == (
        f"rules.yaml, line {line}: tabs are not allowed for indentation in YAML; use spaces"
    )


def test_a_tab_inside_a_block_text_is_fine():
    assert load("note: |\n  a\n  \tb\n").data == {"note": "a\n\tb\n"}


def test_a_tab_after_a_colon_is_refused():
    assert error_of("a:\t1\n") == "rules.yaml, line 1: a tab at column 3; use spaces"


def test_duplicate_keys_are_refused_naming_both_lines():
    message = error_of(
        """\
        name: first
        country: DE
        name: second
        """
    )
    assert message.startswith("rules.yaml, line 3: duplicate key 'name' (first on line 1)")


def test_duplicate_key_nested_in_a_list_item():
    message = error_of(
        """\
        triggers:
          - kind: inactive
            months: 6
          - kind: decline
            share: 0.5
            share: 0.4
        """
    )
    assert message.startswith("rules.yaml, line 6: duplicate key 'share' (first on line 5)")


def test_same_key_in_different_mappings_is_fine():
    assert load("a: {x: 1}\nb: {x: 2}\n").data == {"a": {"x": 1}, "b": {"x": 2}}


def test_python_object_apply_is_refused_and_nothing_runs(tmp_path, monkeypatch):
    calls: list[Any] = []
    monkeypatch.setattr(os, "system", lambda *args: calls.append(args))
    marker = tmp_path / "hacked"
    text = f'name: ok\nx: !!python/object/apply:os.system ["touch {marker}"]\n'
    message = error_of(text)
    assert message == (
        "rules.yaml, line 2: tag '!!python/object/apply:os.system' is not allowed; "
        "rules files hold plain data only"
    )
    assert calls == []
    assert not marker.exists()


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!python/object:collections.OrderedDict {}", "!!python/object:collections.OrderedDict"),
        ("!!python/name:os.system", "!!python/name:os.system"),
        ("!!python/object/new:builtins.list [[1]]", "!!python/object/new:builtins.list"),
        ("!custom thing", "!custom"),
    ],
)
def test_tags_outside_plain_data_are_refused(value, tag):
    message = error_of(f"a: 1\nb:\n  c: {value}\n")
    assert message.startswith(f"rules.yaml, line 3: tag '{tag}' is not allowed;")


def test_an_impossible_date_names_its_line():
    message = error_of("name: x\nstart: 2025-13-45\n")
    assert message.startswith("rules.yaml, line 2: '2025-13-45' cannot be read as !!timestamp")
    assert "quote it" in message


def test_a_list_as_key_is_refused():
    assert error_of("? [a, b]\n: 1\n").startswith("rules.yaml, line 1: a key must be plain text")


def test_two_documents_are_refused():
    message = error_of("a: 1\n---\nb: 2\n")
    assert message.startswith("rules.yaml, line 2:")
    assert "more than one document" in message


def test_control_characters_are_refused_with_their_line():
    assert error_of("a: 1\nb: x\x07\n").startswith("rules.yaml, line 2: character 0x0007")


# --- files ------------------------------------------------------------------------------


def test_load_file_tolerates_a_bom_and_names_the_path(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: caf\xc3\xa9\nname: again\n")
    with pytest.raises(RulesError, match=re.escape(f"{path}, line 2: duplicate key 'name'")):
        load_yaml_file(path)
    path.write_bytes(b"\xef\xbb\xbfname: caf\xc3\xa9\n")
    doc = load_yaml_file(path)
    assert doc.data == {"name": "café"}
    assert doc.source == str(path)
    assert doc.line_of(("name",)) == 1


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(RulesError, match=re.escape(f"{path}: rules file not found")):
        load_yaml_file(path)


def test_a_directory_is_not_a_rules_file(tmp_path):
    with pytest.raises(RulesError, match=re.escape(f"{tmp_path}: cannot read")):
        load_yaml_file(tmp_path)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"a: 1\nname: caf\xe9\n")
    with pytest.raises(RulesError, match=re.escape(f"{path}, line 2: the file is not UTF-8")):
        load_yaml_file(path)


# --- the YAML 1.1 boolean trap ----------------------------------------------------------


def test_bool_trap_hint_for_no_and_on():
    doc = load("country: NO\nmode: on\nquoted: 'NO'\nreal: true\nshort: y\n")
    assert doc.data == {
        "country": False,
        "mode": True,
        "quoted": "NO",
        "real": True,
        "short": "y",
    }
    assert bool_trap_message(doc, ("country",)) == (
        "'NO' was read as the boolean false; quote it as \"NO\" if you mean the text"
    )
    assert bool_trap_message(doc, ("mode",)) == (
        "'on' was read as the boolean true; quote it as \"on\" if you mean the text"
    )
    assert bool_trap_message(doc, ("quoted",)) is None
    assert bool_trap_message(doc, ("real",)) is None
    assert bool_trap_message(doc, ("short",)) is None
    assert bool_trap_message(doc, ("absent",)) is None


# --- pydantic errors with lines ---------------------------------------------------------


class Inactive(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["inactive"]
    months: int


class Decline(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["decline"]
    share: float


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    country: str = "DE"
    triggers: list[Annotated[Inactive | Decline, Field(discriminator="kind")]] = []


MODELS: dict[Any, type[BaseModel]] = {"inactive": Inactive, "decline": Decline}


def allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    model = MODELS.get(loc[-1], Rules) if loc else Rules
    return list(model.model_fields)


def validation_message(text: str, **kwargs: Any) -> str:
    doc = load(text)
    with pytest.raises(ValidationError) as info:
        Rules.model_validate(doc.data)
    error = format_validation_error(info.value, doc, **kwargs)
    assert isinstance(error, RulesError)
    return str(error)


def test_every_pydantic_error_gets_its_line_sorted_by_line():
    message = validation_message(
        """\
        name: spring
        triggers:
          - kind: inactive
            months: six
          - kind: decline
            shares: 0.5
        triggres: []
        """,
        allowed_keys=allowed_keys,
    )
    assert message.splitlines() == [
        "rules.yaml, line 4: triggers[0].months: Input should be a valid integer, "
        "unable to parse string as an integer (found: 'six')",
        "rules.yaml, line 5: triggers[1]: required key 'share' is missing",
        "rules.yaml, line 6: unknown key 'shares' in triggers[1]; did you mean 'share'?",
        "rules.yaml, line 7: unknown key 'triggres'; did you mean 'triggers'?",
    ]


def test_unknown_key_without_close_match_lists_the_allowed_keys():
    message = validation_message("name: x\nzzz: 1\n", allowed_keys=allowed_keys)
    assert message == "rules.yaml, line 2: unknown key 'zzz' (allowed: country, name, triggers)"


def test_unknown_key_without_allowed_keys_still_names_its_line():
    assert validation_message("name: x\n\nnmae: 1\n") == "rules.yaml, line 3: unknown key 'nmae'"


def test_boolean_trap_hint_in_a_validation_error():
    message = validation_message("name: x\ncountry: NO\n")
    assert message == (
        "rules.yaml, line 2: country: Input should be a valid string (found: False); "
        "'NO' was read as the boolean false; quote it as \"NO\" if you mean the text"
    )


def test_missing_key_in_an_empty_file_points_at_line_one():
    message = validation_message("")
    assert message == "rules.yaml, line 1: required key 'name' is missing"


def test_bad_discriminator_names_the_list_item():
    message = validation_message("name: x\ntriggers:\n  - months: 6\n  - kind: moved\n")
    lines = message.splitlines()
    assert lines[0].startswith("rules.yaml, line 3: triggers[0]: Unable to extract tag")
    assert lines[1].startswith("rules.yaml, line 4: triggers[1]: Input tag 'moved'")


def test_long_inputs_are_truncated():
    message = validation_message(f"name: [{', '.join(['abcdefgh'] * 20)}]\n")
    found = message.split("(found: ", 1)[1]
    assert len(found) < 70
    assert found.endswith("…)")


def test_many_errors_are_capped():
    items = "\n".join(f"  - kind: inactive\n    months: x{i}" for i in range(25))
    message = validation_message(f"name: x\ntriggers:\n{items}\n")
    lines = message.splitlines()
    assert len(lines) == 21
    assert lines[0].startswith("rules.yaml, line 4: triggers[0].months:")
    assert lines[-1] == "… and 5 more"


# --- round trip ---------------------------------------------------------------------------

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
)
trees = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=25,
)


def paths_of(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path in document order (dicts keep insertion order)."""
    if not isinstance(data, dict | list):
        return []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    found = []
    for key, value in items:
        found.append((*prefix, key))
        found.extend(paths_of(value, (*prefix, key)))
    return found


@settings(deadline=None)  # pure-Python PyYAML can be slow on a busy machine
@given(st.dictionaries(st.text(max_size=10), trees, max_size=5))
def test_round_trip_of_safe_dump_with_a_line_for_every_path(data):
    text = yaml.safe_dump(data, sort_keys=False)
    doc = load_yaml_text(text, "rules.yaml")
    assert doc.data == data
    lines = [doc.line_of(path) for path in paths_of(data)]
    assert all(isinstance(line, int) and line >= 1 for line in lines)
    assert lines == sorted(lines)  # document order never goes back up the file
