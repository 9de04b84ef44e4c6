"""What every spreadsheet upload shares (past visit tallies, the lending inventory): the
encodings people's spreadsheets save in, and the list of bad rows, each with its line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowError:
    line: int
    message: str
    params: dict

    def __str__(self) -> str:
        return f"line {self.line}: " + (self.message % self.params if self.params else self.message)


class CsvFileError(ValueError):
    """The file cannot be imported; `errors` lists every problem found (up to a limit)."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else cp1252: spreadsheets on Windows save in it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
