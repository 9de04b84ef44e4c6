"""How long counting a document's pages takes before release (pypdf, PostScript scan).

Prints medians of 5 runs; asserts nothing. Run: .venv/bin/python bench/printing_pages.py"""

from __future__ import annotations

import io
import statistics
import time

from pypdf import PdfWriter

from appliance.printing.pages import count_pages


def pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def median_ms(data: bytes, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        count_pages(data, 10_000)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    for pages in (1, 20, 100, 500):
        data = pdf(pages)
        print(f"PDF {pages:>4} pages ({len(data) // 1024:>4} kB): {median_ms(data):7.2f} ms")
    postscript = b"%!PS-Adobe-3.0\n%%Pages: (atend)\n" + b"%%Page: x x\nshowpage\n" * 500 + b"%%Pages: 500\n"
    print(f"PostScript 500 pages ({len(postscript) // 1024} kB): {median_ms(postscript):7.2f} ms")


if __name__ == "__main__":
    main()
