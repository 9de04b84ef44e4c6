"""Developer tool: refresh the catalogues and fill in translations from a JSON file.

    .venv/bin/python scripts/translate.py                 # extract + update, list what is missing
    .venv/bin/python scripts/translate.py strings.json    # ... then fill these in

strings.json maps each msgid to its translations:

    {"Book a seat": {"fr": "Réserver un poste", "nl": "Een computer reserveren", "ar": "..."},
     "%(num)s seat": {"plural": "%(num)s seats",
                      "fr": ["%(num)s poste", "%(num)s postes"], "nl": [...], "ar": [6 forms]}}

English needs no entry (the msgid is the English text). Several people may run this at
once: it holds a lock while it rewrites the catalogues.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "appliance" / "web" / "translations"
LANGUAGES = ("fr", "nl", "ar")
LOCK = Path("/tmp/epn-translate.lock")


def refresh() -> None:
    pybabel = str(ROOT / ".venv" / "bin" / "pybabel")
    subprocess.run([pybabel, "-q", "extract", "-F", "babel.cfg", "-k", "N_", "-k", "_l", "-k", "lazy_gettext",
                    "--no-location", "--sort-output", "-o", str(TRANSLATIONS / "messages.pot"), "appliance"],
                   cwd=ROOT, check=True)
    subprocess.run([pybabel, "-q", "update", "--no-fuzzy-matching", "-i", str(TRANSLATIONS / "messages.pot"),
                    "-d", str(TRANSLATIONS)], cwd=ROOT, check=True)


def fill(strings: dict[str, dict]) -> list[str]:
    unknown = []
    for language in LANGUAGES:
        path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for msgid, entry in strings.items():
            message = catalog.get(msgid)
            if message is None:
                if language == LANGUAGES[0]:
                    unknown.append(msgid)
                continue
            text = entry.get(language)
            if text is None:
                continue
            message.string = tuple(text) if isinstance(text, list) else text
        with path.open("wb") as handle:
            write_po(handle, catalog, sort_output=True)
    return unknown


def missing() -> list[str]:
    out = []
    for language in LANGUAGES:
        path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                out.append(f"{language}: {message.id if isinstance(message.id, str) else message.id[0]!r}")
    return out


def main() -> int:
    strings = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")) if len(sys.argv) > 1 else {}
    LOCK.touch(exist_ok=True)
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        refresh()
        unknown = fill(strings) if strings else []
        subprocess.run(["make", "-s", "install"], cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
        left = missing()
    for msgid in unknown:
        print(f"not in the code (skipped): {msgid!r}")
    for line in left:
        print(f"untranslated {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
