"""The gettext catalogues of the web app: complete, faithful to their placeholders, in step
with the code, and compilable without --use-fuzzy.

French, Dutch and Arabic are fully translated; English shows the msgids as they are, so its
catalogue only has to hold the same messages and the right plural rule."""

from __future__ import annotations

import gettext
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "appliance" / "web" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
TRANSLATED = ("fr", "nl", "ar")
LANGUAGES = TRANSLATED + ("en",)
# Same keywords and options as `make messages`.
EXTRACT = ["extract", "-F", "babel.cfg", "-k", "N_", "-k", "_l", "-k", "lazy_gettext",
           "--no-location", "--sort-output"]
# Which plural form a count selects, per language (GNU gettext rules).
PLURAL_FORMS = {
    "fr": (2, {0: 0, 1: 0, 2: 1, 10: 1, 101: 1}),
    "nl": (2, {0: 1, 1: 0, 2: 1, 10: 1, 101: 1}),
    "en": (2, {0: 1, 1: 0, 2: 1, 10: 1, 101: 1}),
    "ar": (6, {0: 0, 1: 1, 2: 2, 3: 3, 10: 3, 11: 4, 99: 4, 100: 5, 101: 5, 102: 5,
               103: 3, 111: 4, 1000: 5}),
}
# A printf-style conversion: %(name)s, %d, %.2f ... (and %% for a literal percent sign).
CONVERSION = re.compile(r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?P<type>[diouxXeEfFgGcrsa%])")


def catalogue(language: str) -> Catalog:
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


def template() -> Catalog:
    with open(TEMPLATE, "rb") as pot:
        return read_po(pot)


def message_ids(catalog: Catalog) -> set:
    """Every msgid of a catalogue; a plural message counts as (singular, plural)."""
    return {message.id for message in catalog if message.id}


def shown(message_id) -> str:
    return " / ".join(message_id) if isinstance(message_id, tuple) else message_id


def forms(string) -> tuple[str, ...]:
    return string if isinstance(string, tuple) else (string,)


def placeholders(text: str) -> set[str]:
    """Named placeholders of a format string; unnamed ones show as their conversion."""
    return {match["name"] if match["name"] is not None else "%" + match["type"]
            for match in CONVERSION.finditer(text) if match["type"] != "%"}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_of_the_template_is_translated_and_not_fuzzy(language: str) -> None:
    catalog = catalogue(language)
    problems = []
    for wanted in template():
        if not wanted.id:
            continue
        message = catalog.get(wanted.id)
        if message is None or message.id != wanted.id:
            problems.append(f"missing: {shown(wanted.id)!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {shown(wanted.id)!r}")
        elif len(forms(message.string)) != (catalog.num_plurals if message.pluralizable else 1):
            problems.append(f"wrong number of plural forms: {shown(wanted.id)!r}")
        elif not all(form.strip() for form in forms(message.string)):
            problems.append(f"untranslated: {shown(wanted.id)!r}")
    assert not problems, f"{language}/messages.po: {len(problems)} problem(s):\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalogue_holds_exactly_the_messages_of_the_template(language: str) -> None:
    expected, found = message_ids(template()), message_ids(catalogue(language))
    missing = sorted(map(shown, expected - found))
    obsolete = sorted(map(shown, found - expected))
    assert not missing and not obsolete, (
        f"{language}/messages.po is out of step with messages.pot (run `make messages`): "
        f"missing {missing}, not in the template {obsolete}"
    )


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_exactly_the_placeholders_of_the_english_message(language: str) -> None:
    problems = []
    for message in catalogue(language):
        if not message.id or not any(forms(message.string)):
            continue  # an untranslated message is the first test's business
        expected = set().union(*(placeholders(text) for text in forms(message.id)))
        for index, form in enumerate(forms(message.string)):
            found = placeholders(form)
            # Arabic says "one page" and "two pages" in words (forms 1 and 2): the number
            # may be left out there, named placeholders allow it, nothing else may differ.
            spelt = language == "ar" and index in (1, 2) and isinstance(message.id, tuple)
            if found != expected and not (spelt and found < expected and all(p.isidentifier() for p in expected)):
                problems.append(f"{shown(message.id)!r} form {index}: {sorted(found)} instead of {sorted(expected)}")
            elif expected:
                # Formatting must also work: no stray '%' that Python would choke on.
                try:
                    form % {name: "x" for name in expected}
                except (ValueError, TypeError, KeyError) as error:
                    problems.append(f"{shown(message.id)!r} form {index}: cannot be formatted ({error})")
    assert not problems, f"{language}/messages.po:\n" + "\n".join(problems)


def test_the_placeholder_check_sees_named_and_unnamed_placeholders() -> None:
    assert placeholders("Line %(n)s: %(value)s is 100%% %d") == {"n", "value", "%d"}
    assert placeholders("No placeholder, 100%% sure") == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalogue_declares_the_plural_rule_of_its_language(language: str) -> None:
    catalog = catalogue(language)
    count, choices = PLURAL_FORMS[language]
    assert catalog.num_plurals == count, catalog.plural_forms
    rule = gettext.c2py(catalog.plural_expr)
    assert {n: rule(n) for n in choices} == choices, catalog.plural_forms


def test_the_template_is_up_to_date_with_the_strings_in_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    done = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", *EXTRACT, "-o", str(fresh), "appliance"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with open(fresh, "rb") as pot:
        in_code = message_ids(read_po(pot))
    assert len(in_code) > 50, "the extraction found almost nothing: is babel.cfg right?"
    in_template = message_ids(template())
    new = sorted(map(shown, in_code - in_template))
    gone = sorted(map(shown, in_template - in_code))
    assert not new and not gone, (
        "messages.pot is out of date: run `make messages`, then translate.\n"
        f"In the code but not in messages.pot: {new}\n"
        f"In messages.pot but no longer in the code: {gone}"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalogue_compiles_without_fuzzy_and_without_errors(language: str, tmp_path: Path) -> None:
    catalog = catalogue(language)
    assert not catalog.fuzzy, f"{language}/messages.po has '#, fuzzy' on its header: it would be skipped"
    errors = [f"{shown(message.id)!r}: {error}" for message, problems in catalog.check() for error in problems]
    assert not errors, "\n".join(errors)

    # Compile as `make install` does, but without --use-fuzzy, so nothing is skipped.
    compiled = tmp_path / "messages.mo"
    done = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "compile", "-l", language,
         "-i", str(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"), "-o", str(compiled)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert compiled.exists(), f"pybabel compile wrote nothing for {language}:\n{done.stderr}"

    # What gettext reads back is what the catalogue says.
    with open(compiled, "rb") as mo:
        read_back = gettext.GNUTranslations(mo)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    assert buffer.getvalue() == compiled.read_bytes()
    choices = PLURAL_FORMS[language][1]
    for message in catalog:
        if not message.id or not any(forms(message.string)):
            continue  # English: gettext falls back to the msgid
        if message.pluralizable:
            for n, index in choices.items():
                assert read_back.ngettext(*message.id, n) == message.string[index], (message.id, n)
        else:
            assert read_back.gettext(message.id) == message.string, message.id
