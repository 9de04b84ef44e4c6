"""Counting pages before release: PDF and PostScript, and what cannot be printed."""

import pytest

from appliance.errors import InvalidInput
from appliance.printing.pages import count_pages
from tests.printing.conftest import make_pdf


def test_a_pdf_is_counted_page_by_page():
    assert count_pages(make_pdf(3), 100).pages == 3


def test_postscript_is_counted_from_its_dsc_comment_and_atend_takes_the_trailer():
    header = b"%!PS-Adobe-3.0\n%%Pages: (atend)\n%%EndComments\n"
    body = b"%%Page: 1 1\nshowpage\n%%Page: 2 2\nshowpage\n%%Trailer\n%%Pages: 2\n%%EOF\n"
    document = count_pages(header + body, 100)
    assert (document.kind, document.pages) == ("postscript", 2)


def test_postscript_without_comments_is_counted_by_its_showpage_operators():
    assert count_pages(b"%!PS\n/x 1 def showpage\n(showpages) pop showpage\nshowpage\n", 100).pages == 3


@pytest.mark.parametrize("data, words", [
    (b"GIF89a not a document", "Only PDF"),
    (make_pdf(3)[:200], "damaged"),
    (b"%PDF-1.4\n%garbage that is no PDF at all\n", "damaged"),
    (b"%!PS-Adobe-3.0\n%%Pages: 0\n", "no page"),
])
def test_what_cannot_be_counted_is_refused_with_a_reason(data, words):
    with pytest.raises(InvalidInput) as error:
        count_pages(data, 100)
    assert words in str(error.value)
    assert error.value.field == "file"


def test_a_500_page_pdf_is_over_the_limit():
    with pytest.raises(InvalidInput) as error:
        count_pages(make_pdf(500), 100)
    assert "500 pages" in str(error.value)
