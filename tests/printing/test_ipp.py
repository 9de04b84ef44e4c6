"""The stdlib IPP codec: what it sends, and answers it refuses to half-read."""

import struct

import pytest

from appliance.hardware.printing_ipp import (
    END, GET_JOBS, INTEGER, JOB_GROUP, KEYWORD, OPERATION_GROUP, IppError, decode_response, encode_request,
)


def _attr(tag: int, name: str, raw: bytes) -> bytes:
    return struct.pack(">bH", tag, len(name)) + name.encode() + struct.pack(">H", len(raw)) + raw


def test_a_request_starts_with_version_operation_and_charset():
    body = encode_request(GET_JOBS, 7, [(KEYWORD, "which-jobs", "not-completed")])
    assert body[:8] == bytes([2, 0, 0, 0x0A, 0, 0, 0, 7])
    assert b"attributes-charset" in body and b"not-completed" in body and body.endswith(bytes([END]))


def test_an_answer_is_read_into_groups_with_multi_valued_attributes():
    data = struct.pack(">bbhi", 2, 0, 0, 1) + bytes([OPERATION_GROUP]) + bytes([JOB_GROUP])
    data += _attr(INTEGER, "job-id", struct.pack(">i", 12))
    data += _attr(KEYWORD, "job-state-reasons", b"job-hold-until-specified") + _attr(KEYWORD, "", b"other")
    data += bytes([END]) + b"%PDF-1.4"
    status, groups, document = decode_response(data)
    assert status == 0 and document == b"%PDF-1.4"
    assert groups[1] == (JOB_GROUP, {"job-id": 12, "job-state-reasons": ["job-hold-until-specified", "other"]})


@pytest.mark.parametrize("data", [b"\x02\x00", struct.pack(">bbhi", 2, 0, 0, 1) + bytes([OPERATION_GROUP])])
def test_a_truncated_answer_is_an_error(data):
    with pytest.raises(IppError):
        decode_response(data)
