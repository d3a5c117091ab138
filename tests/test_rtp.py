"""RTP/RTCP value types, the RFC 6184 packetiser and the H.264 encoder, without any network."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roto_server.imaging.h264 import H264Encoder
from roto_server.protocols.rtp.h264 import (
    H264Depacketizer,
    H264Packetizer,
    ParameterSets,
    nal_type,
    parameter_sets_from_fmtp,
    split_annexb,
)
from roto_server.protocols.rtp.jpeg import JpegError, JpegPacketizer, parse_jpeg
from roto_server.protocols.rtp.packet import RtpError, RtpPacket
from roto_server.protocols.rtp.rtcp import (
    NTP_UNIX_OFFSET,
    Goodbye,
    OtherRtcp,
    ReceiverReport,
    ReportBlock,
    SenderReport,
    ntp_timestamp,
    parse_compound,
)

u8, u16, u32 = (st.integers(0, 2**bits - 1) for bits in (8, 16, 32))
SPS = bytes.fromhex("6742c01fda0140")
PPS = bytes.fromhex("68ce0f2c")


def words(max_words: int = 8) -> st.SearchStrategy[bytes]:
    return st.integers(0, max_words).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n))


@given(
    st.builds(
        RtpPacket,
        payload_type=st.integers(0, 127),
        sequence=u16,
        timestamp=u32,
        ssrc=u32,
        payload=st.binary(max_size=300),
        marker=st.booleans(),
        csrc=st.lists(u32, max_size=15).map(tuple),
        extension=st.none() | st.tuples(u16, words()),
    )
)
def test_rtp_packet_round_trip(packet: RtpPacket) -> None:
    assert RtpPacket.parse(packet.serialize()) == packet


def test_rtp_header_layout_and_padding() -> None:
    packet = RtpPacket(96, 0x1234, 0xDEADBEEF, 0xCAFEBABE, b"abc", marker=True)
    wire = packet.serialize()
    assert wire[:12] == bytes.fromhex("80e01234deadbeefcafebabe")
    padded = bytes([wire[0] | 0x20]) + wire[1:] + b"\0\0\3"
    assert RtpPacket.parse(padded).payload == b"abc"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x80\x60\0", "shorter than the 12-byte header"),
        (b"\x40" + b"\0" * 11, "version 1"),
        (b"\xa0" + b"\0" * 10 + b"\x09", "padding"),
    ],
)
def test_rtp_parse_refuses_malformed_packets(data: bytes, words: str) -> None:
    with pytest.raises(RtpError, match=words):
        RtpPacket.parse(data)


def test_split_annexb_handles_three_and_four_byte_start_codes() -> None:
    stream = b"\0\0\0\1" + SPS + b"\0\0\1" + PPS + b"\0\0\0\1\x65\x88\x84"
    assert split_annexb(stream) == [SPS, PPS, b"\x65\x88\x84"]


def test_small_nal_units_go_in_single_packets_with_the_marker_on_the_last() -> None:
    packets = H264Packetizer(max_payload=100).packetize([b"\x06sei", b"\x41" + b"x" * 50])
    assert packets == [(b"\x06sei", False), (b"\x41" + b"x" * 50, True)]


def test_large_nal_unit_is_split_into_fu_a_fragments() -> None:
    unit = b"\x65" + bytes(range(256)) * 10
    packets = H264Packetizer(max_payload=500).packetize([unit])
    assert len(packets) == 6 and all(len(payload) <= 500 for payload, _ in packets)
    assert [marker for _, marker in packets] == [False] * 5 + [True]
    assert all(payload[0] == 0x60 | 28 for payload, _ in packets)  # NRI of the IDR kept, type FU-A
    assert packets[0][0][1] == 0x80 | 5 and packets[-1][0][1] == 0x40 | 5 and packets[2][0][1] == 5


def test_parameter_sets_go_in_band_before_an_idr_that_lacks_them() -> None:
    packetizer = H264Packetizer(ParameterSets(SPS, PPS))
    idr = [payload for payload, _ in packetizer.packetize([b"\x65idr"])]
    assert idr == [SPS, PPS, b"\x65idr"]
    assert [p for p, _ in packetizer.packetize([b"\x41p"])] == [b"\x41p"]
    assert [p for p, _ in packetizer.packetize([SPS, PPS, b"\x65i"])] == [SPS, PPS, b"\x65i"]


# IDRs (type 5) are left out: the packetiser adds SPS/PPS before them, tested on its own above
nal_units = st.lists(
    st.tuples(st.sampled_from([1, 2, 6, 7, 8]), st.binary(min_size=0, max_size=4000)).map(
        lambda pair: bytes([0x60 | pair[0]]) + pair[1]
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60)
@given(st.lists(nal_units, min_size=1, max_size=4), st.integers(20, 1400))
def test_depacketizer_restores_every_access_unit(access_units: list[list[bytes]], max_payload: int) -> None:
    packetizer, depacketizer = H264Packetizer(max_payload=max_payload), H264Depacketizer()
    restored = []
    for unit in access_units:
        for payload, marker in packetizer.packetize(unit):
            assert len(payload) <= max_payload
            if (done := depacketizer.push(payload, marker)) is not None:
                restored.append(done)
    assert restored == access_units


def test_sdp_parameters_from_sps_and_pps() -> None:
    sets = ParameterSets(SPS, PPS)
    assert sets.profile_level_id == "42C01F"
    assert sets.sprop_parameter_sets == f"{base64.b64encode(SPS).decode()},{base64.b64encode(PPS).decode()}"
    assert parameter_sets_from_fmtp(sets.fmtp()) == sets
    assert parameter_sets_from_fmtp("packetization-mode=1") is None


report_blocks = st.builds(ReportBlock, u32, u8, st.integers(-(2**23), 2**23 - 1), u32, u32, u32, u32).map(
    lambda block: block
)


@given(
    st.builds(
        SenderReport, u32, st.integers(0, 2**64 - 1), u32, u32, u32, st.lists(report_blocks, max_size=3).map(tuple)
    )
    | st.builds(ReceiverReport, u32, st.lists(report_blocks, max_size=31).map(tuple))
    | st.builds(Goodbye, st.lists(u32, max_size=31).map(tuple))
    | st.builds(OtherRtcp, st.sampled_from([202, 204, 205, 206]), st.integers(0, 31), words())
)
def test_rtcp_round_trip(packet: SenderReport | ReceiverReport | Goodbye | OtherRtcp) -> None:
    assert parse_compound(packet.serialize()) == [packet]


def test_compound_rtcp_is_read_packet_by_packet() -> None:
    report = ReceiverReport(7, (ReportBlock(0xABCDEF01, fraction_lost=3, packets_lost=-2, highest_sequence=99),))
    sdes = OtherRtcp(202, 1, b"\0\0\0\7\1\3abc\0\0\0")
    assert parse_compound(report.serialize() + sdes.serialize()) == [report, sdes]
    with pytest.raises(RtpError, match="runs past"):
        parse_compound(report.serialize()[:-4])


def test_sender_report_pairs_ntp_and_rtp_time() -> None:
    assert ntp_timestamp(0.0) == NTP_UNIX_OFFSET << 32
    assert ntp_timestamp(1.5) == (NTP_UNIX_OFFSET + 1) << 32 | 1 << 31
    wire = SenderReport(1, ntp_timestamp(1.5), 90_000, 10, 12_000).serialize()
    assert (
        len(wire) == 28 and wire[1] == 200 and wire[8:16] == ((NTP_UNIX_OFFSET + 1) << 32 | 1 << 31).to_bytes(8, "big")
    )


def frames(count: int, width: int = 160, height: int = 96) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(0, 255, (height, width, 3), np.uint8) for _ in range(count)]


def test_encoder_emits_constrained_baseline_with_headers_before_every_keyframe() -> None:
    encoder = H264Encoder(160, 96, fps=10)
    units = [unit for index, image in enumerate(frames(25)) for unit in encoder.encode(image, index / 10)]
    assert [unit.pts for unit in units] == pytest.approx([index / 10 for index in range(25)])
    assert [index for index, unit in enumerate(units) if unit.keyframe] == [0, 10, 20]  # GOP of one second
    for unit in units:
        types = {nal_type(nal) for nal in unit.units}
        assert unit.codec == "h264" and (unit.width, unit.height) == (160, 96)
        assert ({7, 8, 5} <= types) == unit.keyframe
    assert encoder.parameter_sets is not None
    profile = bytes.fromhex(encoder.parameter_sets.profile_level_id)
    assert profile[0] == 66 and profile[1] & 0x40  # baseline with constraint_set1: constrained baseline


def test_encoder_makes_a_keyframe_on_request() -> None:
    encoder = H264Encoder(160, 96, fps=30)
    images = frames(4)
    first = [encoder.encode(image, index / 30)[0].keyframe for index, image in enumerate(images[:3])]
    encoder.request_keyframe()
    assert first == [True, False, False] and encoder.encode(images[3], 0.1)[0].keyframe


def test_encoder_refuses_an_odd_frame_size() -> None:
    with pytest.raises(ValueError, match="even, positive frame size"):
        H264Encoder(161, 96, fps=30)


def jpeg(width: int = 64, height: int = 48, **params: int) -> bytes:
    image = np.random.default_rng(2).integers(0, 255, (height, width, 3), np.uint8)
    flags = [item for pair in params.items() for item in (getattr(cv2, pair[0]), pair[1])]
    return cv2.imencode(".jpg", image, flags)[1].tobytes()


def test_jpeg_is_cut_into_rtp_jpeg_payloads_with_tables_in_the_first() -> None:
    data = jpeg()
    frame = parse_jpeg(data)
    assert (frame.type, frame.width, frame.height, len(frame.tables)) == (1, 64, 48, 128)
    assert data.endswith(frame.scan + b"\xff\xd9")
    packets = JpegPacketizer(max_payload=300).packetize((data,))
    assert [marker for _, marker in packets] == [False] * (len(packets) - 1) + [True] and len(packets) > 3
    scan, offsets = b"", []
    for index, (payload, _) in enumerate(packets):
        assert len(payload) <= 300 and payload[4:8] == bytes([1, 255, 64 // 8, 48 // 8])
        offsets.append(int.from_bytes(payload[1:4], "big"))
        head = 8 + (4 + 128 if index == 0 else 0)
        if index == 0:
            assert payload[8:12] == b"\0\0\0\x80" and payload[12:140] == frame.tables
        scan += payload[head:]
    assert scan == frame.scan and offsets == sorted(offsets) and offsets[0] == 0


def test_restart_markers_add_their_header() -> None:
    frame = parse_jpeg(jpeg(IMWRITE_JPEG_RST_INTERVAL=4))
    assert frame.type == 65 and frame.restart_interval == 4
    first = JpegPacketizer().packetize((jpeg(IMWRITE_JPEG_RST_INTERVAL=4),))[0][0]
    assert first[8:12] == b"\0\x04\xff\xff"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"GIF89a", "not a JPEG"),
        (jpeg(60, 48), "multiples of 8 up to 2040 px, not 60x48"),
        (jpeg(2048, 16), "not 2048x16"),
        (jpeg(IMWRITE_JPEG_PROGRESSIVE=1), "only baseline"),
        (jpeg(IMWRITE_JPEG_SAMPLING_FACTOR=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444), "4:2:2 or 4:2:0"),
    ],
)
def test_jpeg_that_rtp_jpeg_cannot_carry_is_refused(data: bytes, words: str) -> None:
    with pytest.raises(JpegError, match=words):
        parse_jpeg(data)
