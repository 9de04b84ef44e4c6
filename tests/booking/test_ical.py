"""RFC 5545 details: folding at 75 octets without cutting a character, text escaping."""

from appliance.booking.ical import escape_text, fold


def test_long_lines_fold_at_75_octets_without_splitting_utf8():
    line = "DESCRIPTION:" + "é" * 100
    folded = fold(line)
    pieces = folded.split("\r\n")
    assert folded.endswith("\r\n") and pieces[-1] == ""
    assert all(len(p.encode("utf-8")) <= 75 for p in pieces)
    assert all(p.startswith(" ") for p in pieces[1:-1])
    assert "".join(p[1:] if i else p for i, p in enumerate(pieces[:-1])) == line


def test_text_is_escaped():
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
