"""Counting a document's pages before it is released: PDF (pypdf) and PostScript (DSC
comments, else `showpage` operators). What cannot be counted is not printed."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass

from appliance.errors import N_, InvalidInput

log = logging.getLogger("appliance.printing")
_DSC_PAGES = re.compile(rb"^%%Pages:\s*(\d+)", re.MULTILINE)
_SHOWPAGE = re.compile(rb"(?<![\w/])showpage(?![\w])")


@dataclass(frozen=True)
class Document:
    kind: str  # pdf | postscript
    pages: int


def document_kind(data: bytes) -> str | None:
    """pdf, postscript or None, from the first bytes (a PJL header may come first)."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if b"%!PS" in head:
        return "postscript"
    return None


def _pdf_pages(data: bytes) -> int:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidInput("file", N_("This PDF is protected by a password; it cannot be printed."))
        return len(reader.pages)
    except InvalidInput:
        raise
    except Exception as error:  # pypdf raises many kinds of errors on broken files
        log.info("unreadable PDF: %s", error.__class__.__name__)
        raise InvalidInput("file", N_("This PDF is damaged and cannot be read.")) from None


def _postscript_pages(data: bytes) -> int:
    counts = [int(n) for n in _DSC_PAGES.findall(data)]  # the last one wins over "(atend)"
    if counts:
        return counts[-1]
    return len(_SHOWPAGE.findall(data))


def count_pages(data: bytes, max_pages: int) -> Document:
    """The document's kind and page count, or InvalidInput saying why it cannot be printed."""
    kind = document_kind(data)
    if kind is None:
        raise InvalidInput("file", N_("Only PDF files can be printed."))
    pages = _pdf_pages(data) if kind == "pdf" else _postscript_pages(data)
    if pages <= 0:
        raise InvalidInput("file", N_("This document has no page to print."))
    if pages > max_pages:
        raise InvalidInput("file", N_("This document has %(pages)s pages; at most %(max)s can be printed."),
                           pages=pages, max=max_pages)
    return Document(kind, pages)
