"""Errors that domain functions raise for bad input, translated by whoever shows them.

Domain modules never import Flask: they raise `InvalidInput` with an English message
marked for extraction with `N_`; the web layer translates it with gettext, the CLI
prints it as it is.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation without translating it here."""
    return message


class InvalidInput(ValueError):
    """One field's value is not acceptable; `message % params` says why."""

    def __init__(self, field: str, message: str, **params: object) -> None:
        self.field = field
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


class NotFound(LookupError):
    """The record asked for does not exist (any more)."""
