"""Structure-aware mutations of valid messages: byte edits, truncations and DER-length damage."""

from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` with one to four edits: flip, insert, delete, overwrite a run, truncate, or grow."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            data.extend(draw(st.binary(min_size=1, max_size=8)))
            continue
        at = draw(st.integers(0, len(data) - 1))
        edit = draw(
            st.sampled_from(["flip", "insert", "delete", "overwrite", "truncate", "length", "extend"])
        )
        if edit == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif edit == "overwrite":
            run = draw(st.binary(min_size=1, max_size=16))
            data[at : at + len(run)] = run
        elif edit == "truncate":
            del data[at:]
        elif edit == "length":
            # DER lengths sit right after a tag: an interesting byte to set to 0x00, 0x7f, 0x80, 0x84, 0xff.
            data[at] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0x81, 0x84, 0x89, 0xFF]))
        else:
            data.extend(draw(st.binary(min_size=1, max_size=64)))
    return bytes(data)


def der_integer(value: int) -> bytes:
    """A DER INTEGER of any sign and size (to plant odd serials into a valid structure)."""
    length = max(1, (value.bit_length() + 8) // 8)
    body = value.to_bytes(length, "big", signed=True)
    return b"\x02" + der_length(len(body)) + body


def der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets
