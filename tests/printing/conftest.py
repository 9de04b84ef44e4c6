"""Printing fixtures: PDFs made with pypdf, the printing configuration, a fake CUPS."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest

from appliance.config import Config, load_config
from appliance.hardware.printing import FakePrintSystem

QUEUE = "desk-laser"
NOW = datetime(2026, 11, 17, 10, 30)  # tests.conftest.FIXED_NOW, a Tuesday


def make_pdf(pages: int) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def printing_config(data_dir: Path, **printing: object) -> Config:
    settings = {"backend": "fake", "public_queues": [QUEUE], "visitor_bw": 20, "guest_bw": 5, **printing}
    return load_config(data_dir, overrides={"printing": settings}, environ={})


@pytest.fixture
def config(data_dir: Path) -> Config:
    return printing_config(data_dir)


@pytest.fixture
def fake() -> FakePrintSystem:
    return FakePrintSystem(printers=(QUEUE,))
