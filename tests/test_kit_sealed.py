"""The sealed container of field kits (jamii.core.kit.sealed), on real files and real age keys.

What the issue asks of it: a bundle of several GB never sits in memory (a 200 MB member goes
through while the process grows by less than 100 MB), a lost stick leaks nothing, and a bundle
opened with the wrong key, changed, cut short, or built by hand with hostile entries is refused
with a message saying what to do.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import threading
import time
from pathlib import Path

import psutil
import pyrage
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jamii.core.kit.sealed import (CHUNK, SealedError, is_safe_member_name, load_or_create_key,
                                   new_keypair, public_key_of, read_sealed, verify_sealed,
                                   write_sealed)

MB = 1 << 20
SECRET, PUBLIC = new_keypair()
GENERATED = settings(max_examples=20, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


class Generated(io.RawIOBase):
    """`size` bytes made as they are read (never held whole), hashed as they go out."""

    def __init__(self, size: int):
        self.left = size
        self.block = os.urandom(MB)
        self.turn = 0
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        start = self.turn % MB
        n = min(len(buffer), self.left, MB - start)
        piece = self.block[start:start + n]
        self.turn += n + 7919  # not a plain repeat of the block
        buffer[:n] = piece
        self.left -= n
        self.sha.update(piece)
        return n


class PeakMemory:
    """The most the process's resident memory grew while inside the block (sampled)."""

    def __enter__(self):
        self.process = psutil.Process()
        self.base = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.base


def sealed(tmp_path: Path, members, name="bundle.jamii") -> Path:
    path = tmp_path / name
    write_sealed(path, PUBLIC, members)
    return path


def read_all(path: Path, secret: str = SECRET) -> list[tuple[str, bytes]]:
    return [(name, stream.read()) for name, stream in read_sealed(path, secret)]


def seal_raw_tar(path: Path, build) -> Path:
    """A bundle whose tar is built by hand (so it can hold what write_sealed refuses)."""
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w", format=tarfile.PAX_FORMAT) as tar:
        build(tar)
    path.write_bytes(pyrage.encrypt(plain.getvalue(), [pyrage.x25519.Recipient.from_str(PUBLIC)]))
    return path


def refused(path: Path, reason: str, secret: str = SECRET) -> SealedError:
    """Both ways of reading refuse `path` for `reason`; the reader's error is returned."""
    with pytest.raises(SealedError) as by_verify:
        verify_sealed(path, secret)
    assert by_verify.value.reason == reason, str(by_verify.value)
    with pytest.raises(SealedError) as by_read:
        read_all(path, secret)
    assert by_read.value.reason == reason, str(by_read.value)
    return by_read.value


# --- round trips ------------------------------------------------------------------------------

def test_members_of_every_kind_come_back_in_order(tmp_path):
    audio = tmp_path / "rec.wav"
    audio.write_bytes(os.urandom(200_000))
    seekable = io.BytesIO(b"skip-me" + b"people\n" * 1000)
    seekable.seek(7)  # read from where it stands
    pipe_like = io.BufferedReader(Generated(300_000))  # cannot seek: its size is given
    members = [("items.jsonl", b'{"id": 1}\n'), ("audio/3f2a.wav", audio),
               ("people.jsonl", seekable), ("ledger.jsonl", pipe_like, 300_000),
               ("empty.jsonl", b""), ("consents.jsonl", bytearray(b"c\n"))]
    path = sealed(tmp_path, members)

    summary = verify_sealed(path, SECRET)
    got = read_all(path)

    assert [name for name, _ in got] == [m[0] for m in members]
    assert got[0][1] == b'{"id": 1}\n'
    assert got[1][1] == audio.read_bytes()
    assert got[2][1] == b"people\n" * 1000
    assert hashlib.sha256(got[3][1]).hexdigest() == pipe_like.raw.sha.hexdigest()
    assert got[4][1] == b"" and got[5][1] == b"c\n"
    assert summary.members == 6 and summary.bytes == sum(len(data) for _, data in got)
    assert b"people" not in path.read_bytes() and not (tmp_path / "bundle.jamii.part").exists()


def test_lines_can_be_read_one_by_one(tmp_path):
    path = sealed(tmp_path, [("items.jsonl", b"".join(b"%d\n" % i for i in range(10_000)))])
    for name, stream in read_sealed(path, SECRET):
        assert [int(line) for line in stream] == list(range(10_000))


def test_an_empty_bundle_round_trips(tmp_path):
    path = sealed(tmp_path, [])
    assert read_all(path) == [] and tuple(verify_sealed(path, SECRET)) == (0, 0)


@GENERATED
@given(st.dictionaries(st.from_regex(r"[a-z0-9_]{1,12}(/[a-z0-9_][a-z0-9._-]{0,12})?",
                                     fullmatch=True),
                       st.binary(max_size=3 * CHUNK), max_size=6))
def test_any_members_round_trip(tmp_path, members):
    path = sealed(tmp_path, list(members.items()))
    assert read_all(path) == list(members.items())


@pytest.mark.slow
def test_a_200_mb_member_streams_in_bounded_memory(tmp_path):
    size = 200 * MB
    source = Generated(size)
    with PeakMemory() as writing:
        path = sealed(tmp_path, [("small.jsonl", b"x\n"), ("audio/big.flac", source, size),
                                 ("after.jsonl", b"y\n")])
    assert path.stat().st_size > size

    digest, names = hashlib.sha256(), []
    with PeakMemory() as reading:
        for name, stream in read_sealed(path, SECRET):
            names.append(name)
            while piece := stream.read(CHUNK):
                if name == "audio/big.flac":
                    digest.update(piece)
    path.unlink()  # pytest keeps the last runs' folders; not 200 MB of them
    assert names == ["small.jsonl", "audio/big.flac", "after.jsonl"]
    assert digest.hexdigest() == source.sha.hexdigest()
    assert writing.growth < 100 * MB, f"writing grew by {writing.growth / MB:.0f} MB"
    assert reading.growth < 100 * MB, f"reading grew by {reading.growth / MB:.0f} MB"


def test_stopping_early_ends_the_decryption(tmp_path):
    path = sealed(tmp_path, [("a", Generated(3 * MB), 3 * MB), ("b", b"never read")])
    threads = threading.active_count()
    for name, stream in read_sealed(path, SECRET):
        stream.read(10)
        break
    assert threading.active_count() == threads  # the generator's close stopped pyrage's thread


def test_a_stream_closes_when_the_next_member_is_asked_for(tmp_path):
    path = sealed(tmp_path, [("a", b"first"), ("b", b"second")])
    members = read_sealed(path, SECRET)
    _, first = next(members)
    next(members)
    with pytest.raises(ValueError):
        first.read()


# --- refusals ---------------------------------------------------------------------------------

def test_a_wrong_key_is_refused_before_any_member(tmp_path):
    path = sealed(tmp_path, [("items.jsonl", b"secret text")])
    other_secret, _ = new_keypair()
    error = refused(path, "wrong_key", other_secret)
    assert "sealed for another central store's key" in str(error)
    assert public_key_of(other_secret) in str(error) and other_secret not in str(error)
    members = read_sealed(path, other_secret)
    with pytest.raises(SealedError):
        next(members)  # refused before the first member


def test_a_flipped_byte_in_the_middle_is_refused(tmp_path):
    path = sealed(tmp_path, [("first", os.urandom(5 * CHUNK)), ("second", os.urandom(5 * CHUNK))])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(data)

    error = refused(path, "damaged")
    assert "damaged or was changed after it was sealed" in str(error)
    # reading reaches the damage only midway: what came before it was given already
    given_names = []
    with pytest.raises(SealedError):
        for name, stream in read_sealed(path, SECRET):
            given_names.append(name)
            stream.read()
    assert given_names  # the caveat: verify first, or merge in one transaction


@pytest.mark.parametrize("keep", ["header", "one_chunk", "all_but_one"])
def test_a_cut_short_bundle_is_refused(tmp_path, keep):
    path = sealed(tmp_path, [("a", os.urandom(3 * CHUNK)), ("b", b"tail")])
    data = path.read_bytes()
    # the header ends with "--- " and a 43-character MAC line; a 16-byte nonce, then chunks
    # of 64 KiB and a 16-byte tag each
    payload = data.index(b"\n---") + len(b"\n--- ") + 43 + 1 + 16
    cut = {"header": payload, "one_chunk": payload + CHUNK + 16,
           "all_but_one": len(data) - 1}[keep]
    path.write_bytes(data[:cut])
    refused(path, "damaged")


@GENERATED
@given(st.data())
def test_any_change_or_cut_is_refused(tmp_path, data):
    path = tmp_path / "b.jamii"
    if not path.exists():
        write_sealed(path, PUBLIC, [("a", b"a" * 70_000), ("b", b"b" * 1000)])
    original = path.read_bytes()
    changed = bytearray(original)
    if data.draw(st.booleans(), label="cut"):
        changed = changed[:data.draw(st.integers(0, len(original) - 1), label="length")]
    else:
        changed[data.draw(st.integers(0, len(original) - 1), label="at")] ^= data.draw(
            st.integers(1, 255), label="mask")
    (tmp_path / "changed").write_bytes(changed)
    with pytest.raises(SealedError) as error:
        verify_sealed(tmp_path / "changed", SECRET)
    # a change in the header's recipient stanza reads as "not for this key"
    assert error.value.reason in {"damaged", "not_a_bundle", "wrong_key"}


def test_a_file_that_is_not_a_bundle_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("just some notes\n" * 50)
    error = refused(tmp_path / "notes.txt", "not_a_bundle")
    assert "is not a sealed jamii bundle" in str(error)
    (tmp_path / "empty").write_bytes(b"")
    refused(tmp_path / "empty", "not_a_bundle")


def test_sealed_bytes_that_are_not_a_tar_are_refused(tmp_path):
    path = tmp_path / "b.jamii"
    path.write_bytes(pyrage.encrypt(os.urandom(5000),
                                    [pyrage.x25519.Recipient.from_str(PUBLIC)]))
    refused(path, "not_a_bundle")


def _regular(tar, name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _special(kind, name="thing", linkname=""):
    def build(tar):
        _regular(tar, "fine.jsonl")
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, linkname
        tar.addfile(info)
    return build


HOSTILE = {
    "parent": lambda tar: _regular(tar, "../../etc/cron.d/evil"),
    "inner_parent": lambda tar: _regular(tar, "audio/../../evil"),
    "absolute": lambda tar: _regular(tar, "/etc/passwd"),
    "hidden": lambda tar: _regular(tar, ".bashrc"),
    "backslash": lambda tar: _regular(tar, "..\\..\\evil"),
    "drive": lambda tar: _regular(tar, "C:/evil"),
    "control": lambda tar: _regular(tar, "evil\nname"),
    "unicode": lambda tar: _regular(tar, "audio/\u202egnp.exe"),
    "too_long": lambda tar: _regular(tar, "a" * 300),
    "twice": lambda tar: (_regular(tar, "items.jsonl"), _regular(tar, "items.jsonl")),
    "symlink": _special(tarfile.SYMTYPE, "items.jsonl", "/etc/passwd"),
    "hardlink": _special(tarfile.LNKTYPE, "items.jsonl", "fine.jsonl"),
    "directory": _special(tarfile.DIRTYPE, "audio"),
    "device": _special(tarfile.CHRTYPE, "null"),
    "fifo": _special(tarfile.FIFOTYPE, "fifo"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_entries_are_refused(tmp_path, kind):
    path = seal_raw_tar(tmp_path / "b.jamii", HOSTILE[kind])
    given_names = []
    with pytest.raises(SealedError) as error:
        for name, stream in read_sealed(path, SECRET):
            given_names.append(name)
    assert error.value.reason == "unsafe_member", str(error.value)
    assert "refuse it" in str(error.value)
    assert all(is_safe_member_name(name) for name in given_names)
    refused(path, "unsafe_member")


def test_a_huge_header_is_refused_without_filling_memory(tmp_path):
    def build(tar):
        info = tarfile.TarInfo("items.jsonl")
        info.pax_headers = {"comment": "x" * (2 * MB)}
        tar.addfile(info, io.BytesIO(b""))
    error = refused(seal_raw_tar(tmp_path / "b.jamii", build), "not_a_bundle")
    assert "headers are larger" in str(error)


# --- writing that stops midway ----------------------------------------------------------------

def test_an_interrupted_write_leaves_no_bundle(tmp_path):
    final = tmp_path / "bundle.jamii"
    final.write_bytes(b"the previous bundle")

    def members():
        yield "items.jsonl", b"x" * 100_000
        yield "audio/a.wav", Generated(2 * MB), 2 * MB
        raise RuntimeError("the laptop's battery")

    with pytest.raises(RuntimeError, match="battery"):
        write_sealed(final, PUBLIC, members())
    assert final.read_bytes() == b"the previous bundle"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.jamii"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_full_disk_is_a_clear_refusal_and_leaves_no_bundle(tmp_path):
    final = tmp_path / "bundle.jamii"
    (tmp_path / "bundle.jamii.part").symlink_to("/dev/full")  # every write: no space left
    with pytest.raises(SealedError) as error:
        write_sealed(final, PUBLIC, [("audio/a.wav", Generated(2 * MB), 2 * MB)])
    assert error.value.reason == "write_failed" and "free space" in str(error.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("members, message", [
    ([("../evil", b"x")], "not a plain relative name"),
    ([("a", b"x"), ("a", b"y")], "given twice"),
    ([("a", io.BufferedReader(Generated(10)))], "give its size"),
    ([("a", io.BytesIO(b"short"), 10)], "short of its size"),
    ([("a", io.BytesIO(b"longer than said"), 3)], "longer than its size"),
    ([("a", 12)], "give bytes, a path"),
])
def test_bad_members_are_refused_when_writing(tmp_path, members, message):
    with pytest.raises((ValueError, TypeError), match=message):
        write_sealed(tmp_path / "b.jamii", PUBLIC, members)
    assert list(tmp_path.iterdir()) == []


def test_a_bad_public_key_is_refused(tmp_path):
    with pytest.raises(SealedError) as error:
        write_sealed(tmp_path / "b.jamii", "age1notakey", [("a", b"x")])
    assert error.value.reason == "bad_key" and list(tmp_path.iterdir()) == []
    with pytest.raises(SealedError, match="not a central store's secret key"):
        verify_sealed(tmp_path / "b.jamii", "AGE-SECRET-KEY-1WRONG")


# --- the key file -----------------------------------------------------------------------------

def test_the_key_file_is_made_private_and_kept(tmp_path):
    old_umask = os.umask(0o000)  # even a careless umask gives 0600
    try:
        secret = load_or_create_key(tmp_path / "keys" / "central.key")
    finally:
        os.umask(old_umask)
    key_file = tmp_path / "keys" / "central.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_or_create_key(key_file) == secret
    text = key_file.read_text()
    assert f"# public key: {public_key_of(secret)}" in text and secret in text
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["central.key"]
    bundle = tmp_path / "mine.jamii"
    write_sealed(bundle, public_key_of(secret), [("a", b"x")])
    assert read_all(bundle, load_or_create_key(key_file)) == [("a", b"x")]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_key_file_others_can_read_is_refused(tmp_path, mode):
    key_file = tmp_path / "central.key"
    load_or_create_key(key_file)
    key_file.chmod(mode)
    with pytest.raises(SealedError) as error:
        load_or_create_key(key_file)
    assert error.value.reason == "key_file"
    assert f"chmod 600 {key_file}" in str(error.value) and f"{mode:04o}" in str(error.value)


def test_a_damaged_or_odd_key_file_is_refused(tmp_path):
    empty = tmp_path / "empty.key"
    empty.write_text("# nothing here\n")
    empty.chmod(0o600)
    with pytest.raises(SealedError, match="holds 0"):
        load_or_create_key(empty)
    broken = tmp_path / "broken.key"
    broken.write_text("AGE-SECRET-KEY-1BROKEN\n")
    broken.chmod(0o600)
    with pytest.raises(SealedError, match="not a central store's secret key"):
        load_or_create_key(broken)
    folder = tmp_path / "folder.key"
    folder.mkdir(mode=0o700)
    with pytest.raises(SealedError, match="is not a file"):
        load_or_create_key(folder)
