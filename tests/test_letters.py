"""Letter templates: sandbox, strict fields, locale formatting, language fallback, file names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from winback_cli.drafts import safe_stems
from winback_cli.errors import RulesError, TemplateError
from winback_cli.letter_context import greeting, letter_locale
from winback_cli.letters import Templates, split_subject
from winback_cli.rules import Rules

CONTEXT = {
    "customer": {"customer_id": "K1", "company": "Müller & Söhne", "revenue": 1234.5},
    "greeting": "Sehr geehrte Frau Sommer,",
    "locale": "de_DE",
    "currency": "EUR",
}


def templates(tmp_path: Path, **files: str) -> Templates:
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".", 1).replace("_", ".")).write_text(text, encoding="utf-8")
    rules = Rules.model_validate({"templates": {"folder": "templates"}})
    return Templates(rules, tmp_path)


def render(tmp_path: Path, text: str, *, html: bool = False, context=CONTEXT):
    found = templates(tmp_path, mine_de_txt=text)
    return found.render("mine.de.txt", context, customer="K1", html=html)


def test_money_and_dates_are_formatted_for_the_letters_locale(tmp_path):
    text = "Subject: Test\n{{ customer.revenue | money }} am {{ day | date }}, {{ 0.1 | percent }}"
    draft = render(tmp_path, text, context={**CONTEXT, "day": dt.date(2025, 3, 2)})
    assert draft.subject == "Test"
    assert draft.body == "1.234,50\xa0€ am 2. März 2025, 10\xa0%\n"
    english = {**CONTEXT, "locale": "en_GB", "day": dt.date(2025, 3, 2)}
    assert render(tmp_path, text, context=english).body == "€1,234.50 am 2 March 2025, 10%\n"


@pytest.mark.parametrize(
    "attack",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ customer.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ greeting.format.__globals__ }}",
    ],
)
def test_a_template_reaching_for_python_internals_is_refused(tmp_path, attack):
    with pytest.raises(TemplateError) as error:
        render(tmp_path, f"Subject: x\nHallo\n{attack}\n")
    message = str(error.value)
    assert "mine.de.txt, line 3" in message
    assert "customer K1" in message


def test_a_typo_in_a_field_names_template_line_and_customer(tmp_path):
    with pytest.raises(TemplateError) as error:
        render(tmp_path, "Subject: x\n\n{{ customer.compnay }}\n")
    message = str(error.value)
    assert message.startswith("template mine.de.txt, line 3:")
    assert "compnay" in message and "customer K1" in message


def test_a_syntax_error_names_the_line(tmp_path):
    with pytest.raises(TemplateError, match=r"mine.de.txt, line 2: .*customer K1"):
        render(tmp_path, "Subject: x\n{% if customer.company %}no end\n")


def test_a_raw_decimal_number_must_be_formatted(tmp_path):
    with pytest.raises(TemplateError, match=r"1234.5 is printed as a raw number.*\| money"):
        render(tmp_path, "Subject: x\n{{ customer.revenue }}\n")


def test_customer_values_are_escaped_in_html_only(tmp_path):
    text = "Subject: Für {{ customer.company }}\n{{ customer.company }}\n"
    assert render(tmp_path, text, html=True).body == "Müller &amp; Söhne\n"
    assert render(tmp_path, text, html=True).subject == "Für Müller &amp; Söhne"
    assert render(tmp_path, text).body == "Müller & Söhne\n"


def test_templates_fall_back_to_the_default_language(tmp_path):
    found = templates(tmp_path, offer_de_txt="Subject: de\n", offer_en_txt="Subject: en\n")
    assert found.pick("offer", "de") == ("offer.de.txt", "de")
    assert found.pick("offer", "fr") == ("offer.en.txt", "en")
    assert found.pick("winback", "it") == ("winback.en.txt", "en")  # bundled
    with pytest.raises(TemplateError, match="no template 'nothing' for language 'de'"):
        found.pick("nothing", "de")


def test_a_template_folder_that_does_not_exist_is_a_rules_error(tmp_path):
    rules = Rules.model_validate({"templates": {"folder": "missing"}})
    with pytest.raises(RulesError, match="missing is not a folder"):
        Templates(rules, tmp_path)


def test_templates_cannot_be_loaded_from_outside_the_folders(tmp_path):
    (tmp_path / "secret.txt").write_text("Subject: s\nsecret\n")
    found = templates(tmp_path, main_de_txt="Subject: x\n{% include '../secret.txt' %}\n")
    with pytest.raises(TemplateError, match=r"secret\.txt"):
        found.render("main.de.txt", CONTEXT, customer="K1", html=False)


def test_the_subject_line_is_split_off_and_blank_lines_tidied():
    assert split_subject("\nSubject:  Hallo \n\n\n\nText\n\n\n\nEnde  \n\n") == (
        "Hallo",
        "Text\n\nEnde\n",
    )
    assert split_subject("No subject\n") == ("", "No subject\n")


@pytest.mark.parametrize(
    ("language", "salutation", "first", "last", "expected"),
    [
        ("de", "Herr", "Franz", "Müller", "Sehr geehrter Herr Müller,"),
        ("de", "Frau Dr.", "Anna", "Weiß", "Sehr geehrte Frau Weiß,"),
        ("de", "", "Kim", "Lee", "Guten Tag Kim Lee,"),
        ("de", "", "", "", "Sehr geehrte Damen und Herren,"),
        ("en", "Ms", "Emily", "Clarke", "Dear Ms Clarke,"),
        ("en", "Frau", "Anna", "Weiß", "Dear Ms Weiß,"),
        ("fr", "", "", "", "Dear Sir or Madam,"),
    ],
)
def test_greetings(language, salutation, first, last, expected):
    assert greeting(language, salutation, first, last) == expected


def test_the_letters_locale_follows_its_language():
    rules = Rules(locale="de_AT")
    assert letter_locale("de", rules) == "de_AT"
    assert letter_locale("en", rules) == "en_GB"


@given(st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=20, unique=True))
def test_file_names_are_safe_and_unique_whatever_the_ids(ids):
    stems = safe_stems(ids)
    assert len({s.casefold() for s in stems}) == len(ids)
    for stem in stems:
        assert stem and len(stem) <= 69
        assert set(stem) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        assert not stem.startswith(("-", "_"))
