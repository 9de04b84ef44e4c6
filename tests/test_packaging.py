"""The wheel (what ansible, the images and `epn update` install) carries every module."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "appliance"


def test_every_folder_with_python_modules_is_a_regular_package():
    # pyproject sets `namespaces = false`: a folder without __init__.py is left out of the
    # wheel, and the installed appliance fails with "No module named ...".
    folders = {path.parent for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts}
    missing = sorted(str(folder.relative_to(PACKAGE.parent)) for folder in folders
                     if not (folder / "__init__.py").exists())
    assert missing == []
