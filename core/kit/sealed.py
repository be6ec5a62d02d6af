"""Sealed bundles: a tar stream encrypted to the central store's key, never whole in memory.

    secret = load_or_create_key(data / "kit-key.txt")          # on the central store, once
    write_sealed("bundle.jamii", public_key_of(secret),        # on the field laptop
                 [("items.jsonl", b"..."), ("audio/3f2a.wav", Path("rec.wav"))])
    verify_sealed("bundle.jamii", secret)                      # central store: all or nothing
    for name, stream in read_sealed("bundle.jamii", secret): ...

Why age, through pyrage: age is a small, reviewed file format (X25519 to wrap a file key,
ChaCha20-Poly1305 over 64 KiB chunks, with the last chunk marked so a cut-short file is
caught); pyrage binds the Rust implementation and offers `encrypt_io`/`decrypt_io`, which copy
from a file object to a file object chunk by chunk. The key file is age-keygen's own format, so
an operator can open a bundle by hand with `age -d -i KEYFILE bundle | tar t`.

pyrage copies from a reader to a writer, while tarfile wants to push into a file (writing) or
pull from one (reading); an OS pipe with pyrage on a thread of its own joins the two, so memory
holds a pipe's buffer and a few chunks whatever the bundle's size.

When damage is found: a wrong key, a foreign file or a damaged beginning before any member is
given; a changed or cut-short chunk only when the reading reaches it, after earlier members were
given. `read_sealed` ends normally only if the whole bundle was sound, and `verify_sealed`
reads it through once so a merge can refuse a bad bundle before it changes anything.

age does not say who sealed a bundle: anyone who knows the public key can seal one. Who made a
bundle is for the bundle's contents to prove, not for this container.
"""

from __future__ import annotations

import io
import os
import re
import stat
import tarfile
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, NamedTuple, Union

import pyrage
from pyrage import x25519

__all__ = ["SealedError", "SealedSummary", "new_keypair", "public_key_of", "load_or_create_key",
           "write_sealed", "read_sealed", "verify_sealed", "is_safe_member_name"]

CHUNK = 1 << 16
# How much plaintext tarfile may read for one member's headers (pax or GNU long names hold a
# few hundred bytes); a hostile bundle's 5 GB "header" would otherwise be read into memory.
HEADER_BUDGET = 1 << 20
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*")
_NAME_MAX = 255

Source = Union[bytes, bytearray, memoryview, str, os.PathLike, BinaryIO]


class SealedError(Exception):
    """A bundle or key that cannot be used; the message says what happened and what to do.

    `reason` is one of: wrong_key, damaged, not_a_bundle, unsafe_member, key_file, bad_key,
    write_failed, so a caller can choose an exit code without reading the words."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class SealedSummary(NamedTuple):
    members: int
    bytes: int


# --- keys -------------------------------------------------------------------------------------

def new_keypair() -> tuple[str, str]:
    """A fresh central store key: (secret "AGE-SECRET-KEY-1...", public "age1...")."""
    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def public_key_of(secret: str) -> str:
    """The public key ("age1...") field kits seal to, from the central store's secret key."""
    return str(_identity(secret).to_public())


def _identity(secret: str) -> x25519.Identity:
    try:
        return x25519.Identity.from_str(secret.strip())
    except (pyrage.IdentityError, AttributeError) as error:  # the secret is never repeated
        raise SealedError("this is not a central store's secret key (one line starting "
                          "AGE-SECRET-KEY-1): use the key file `load_or_create_key` keeps",
                          reason="bad_key") from error


def _recipient(public: str) -> x25519.Recipient:
    try:
        return x25519.Recipient.from_str(public.strip())
    except (pyrage.RecipientError, AttributeError) as error:
        raise SealedError(f"{public!r} is not a central store's public key (it starts age1): "
                          "copy it again from the central store", reason="bad_key") from error


def load_or_create_key(path: str | os.PathLike) -> str:
    """The central store's secret key kept in `path`, made there (mode 0600) the first time.

    The file is made whole beside `path` and linked into place, so a crash never leaves an
    empty key; an existing file that others on the machine may read is refused, because whoever
    reads it can open every bundle."""
    path = Path(path)
    if path.exists():
        return _load_key(path)
    secret, public = new_keypair()
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.new")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            out.write(f"# jamii central store key, made {datetime.now(timezone.utc):%Y-%m-%d}\n"
                      f"# public key: {public}\n{secret}\n")
            out.flush()
            os.fsync(out.fileno())
        os.link(draft, path)  # fails if another process made the key meanwhile: use theirs
    except FileExistsError:
        return _load_key(path)
    finally:
        draft.unlink(missing_ok=True)
    return secret


def _load_key(path: Path) -> str:
    facts = os.stat(path)
    if not stat.S_ISREG(facts.st_mode):
        raise SealedError(f"{path} is not a file: point the key setting at the key file",
                          reason="key_file")
    if facts.st_mode & 0o077:
        raise SealedError(
            f"{path} can be read by other users of this machine (mode "
            f"{stat.S_IMODE(facts.st_mode):04o}): run `chmod 600 {path}`; if someone may have "
            "copied it, make a new key and give the field kits its public key", reason="key_file")
    lines = [line.strip() for line in path.read_text(encoding="ascii", errors="replace")
             .splitlines()]
    secrets = [line for line in lines if line.startswith("AGE-SECRET-KEY-")]
    if len(secrets) != 1:
        raise SealedError(f"{path} should hold one line starting AGE-SECRET-KEY-1 and holds "
                          f"{len(secrets)}: restore it from the store's backup",
                          reason="key_file")
    public_key_of(secrets[0])  # refuses a damaged key now, not at the first bundle
    return secrets[0]


def is_safe_member_name(name: str) -> bool:
    """Plain relative names only ("items.jsonl", "audio/3f2a.wav"): no "/" at the start, no
    "." or ".." parts, no hidden files, no backslashes or drive letters, nothing but ASCII
    letters, digits, "._-"; so a name can never point outside the folder it is read into."""
    return isinstance(name, str) and len(name) <= _NAME_MAX and _NAME.fullmatch(name) is not None


# --- the pipe between tarfile and pyrage ------------------------------------------------------

class _PyrageOnThread:
    """Runs one pyrage copy on a thread, joined to this thread by an OS pipe.

    `feeds_pipe=False`: pyrage reads the pipe (this thread writes plaintext into `ours`);
    `feeds_pipe=True`: pyrage writes into the pipe (this thread reads plaintext from `ours`).
    pyrage's end is closed when it stops, so this side then sees the end of the data."""

    def __init__(self, copy: Callable[[BinaryIO], None], *, feeds_pipe: bool):
        read_end, write_end = os.pipe()
        self.feeds_pipe = feeds_pipe
        self.ours = open(read_end if feeds_pipe else write_end, "rb" if feeds_pipe else "wb")
        theirs = open(write_end if feeds_pipe else read_end, "wb" if feeds_pipe else "rb")
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(copy, theirs), daemon=True,
                                        name="jamii-sealed")
        self._thread.start()

    def _run(self, copy, theirs) -> None:
        try:
            copy(theirs)
        except BaseException as error:  # kept for the other thread, which explains it
            self.error = error
        finally:
            try:
                theirs.close()
            except OSError:  # the last flush into a pipe whose reader has gone
                pass

    def finish(self) -> BaseException | None:
        """Let pyrage end on its own and give its error, if any. When it decrypts, what it
        still writes is read and dropped first: its check of the last chunk comes at the end."""
        if self.feeds_pipe and not self.ours.closed:
            try:
                while self.ours.read(CHUNK):
                    pass
            except OSError:
                pass
        self.stop()
        return self.error

    def stop(self) -> None:
        """Close our end, which stops pyrage at its next write (or ends its input), and wait."""
        try:
            self.ours.close()
        except OSError:  # pyrage stopped first; its own error says why
            pass
        self._thread.join()


# --- writing ----------------------------------------------------------------------------------

def write_sealed(path: str | os.PathLike, recipient_public: str,
                 members: Iterable[tuple]) -> SealedSummary:
    """Seal `members` for the key `recipient_public` into `path`, streaming.

    Each member is `(name, source)` or `(name, source, size)`; a source is bytes, a file path,
    or a binary file object (read from where it stands; a file object that cannot seek needs
    its size, because a tar header comes before the data). The bundle is written to
    `path + ".part"` and renamed when whole, so anything that stops it midway (an exception from
    `members`, a full disk) leaves no bundle under `path`."""
    recipient = _recipient(recipient_public)
    final = Path(path)
    part = final.with_name(final.name + ".part")
    try:
        with open(part, "wb", buffering=0) as sealed:  # pyrage buffers; a close never writes
            pump = _PyrageOnThread(lambda plain: pyrage.encrypt_io(plain, sealed, [recipient]),
                                   feeds_pipe=False)
            try:
                summary = _write_tar(pump.ours, members)
            except BaseException as error:
                failure = pump.finish()
                if isinstance(error, BrokenPipeError) and failure is not None:
                    raise _write_failed(final, failure) from failure
                raise
            failure = pump.finish()
            if failure is not None:
                raise _write_failed(final, failure) from failure
            os.fsync(sealed.fileno())
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return summary


def _write_failed(final: Path, failure: BaseException) -> SealedError:
    return SealedError(f"could not write the bundle {final} ({failure}): check the free space "
                       "and that the folder can be written, then bundle again",
                       reason="write_failed")


def _write_tar(plain: BinaryIO, members: Iterable[tuple]) -> SealedSummary:
    names: set[str] = set()
    total = 0
    with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for member in members:
            name, source, size = (*member, None) if len(member) == 2 else member
            if not is_safe_member_name(name):
                raise ValueError(f"member name {name!r} is not a plain relative name "
                                 "(letters, digits, '._-' and '/' between parts)")
            if name in names:
                raise ValueError(f"member name {name!r} is given twice")
            names.add(name)
            with _source_stream(source, size, name) as (stream, length):
                info = tarfile.TarInfo(name)
                info.size, info.mode = length, 0o600
                exact = _Exactly(stream, length, name)
                tar.addfile(info, exact)
                exact.check_ended()
            total += length
    return SealedSummary(len(names), total)


@contextmanager
def _source_stream(source: Source, size: int | None, name: str) -> Iterator[tuple[BinaryIO, int]]:
    """A member's source as (binary stream, size), closing only what it opened itself."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(source), memoryview(source).nbytes
    elif isinstance(source, (str, os.PathLike)):
        if not stat.S_ISREG(os.stat(source).st_mode):  # before opening: a FIFO would wait
            raise ValueError(f"member {name!r}: {source} is not a regular file")
        with open(source, "rb") as stream:
            yield stream, os.fstat(stream.fileno()).st_size
    elif not hasattr(source, "read"):
        raise TypeError(f"member {name!r}: give bytes, a path or a binary file object")
    elif size is not None:
        yield source, size
    elif hasattr(source, "seekable") and source.seekable():
        here = source.tell()
        size = source.seek(0, io.SEEK_END) - here
        source.seek(here)
        yield source, size
    else:
        raise ValueError(f"member {name!r}: this stream cannot seek, so give its size as "
                         "(name, stream, size)")


class _Exactly:
    """A member's source as tarfile copies it: whole reads (tarfile takes a short read for the
    end), and exactly the size its header promised, no byte fewer or more."""

    def __init__(self, source: BinaryIO, size: int, name: str):
        self.source, self.left, self.name = source, size, name

    def read(self, size: int = -1) -> bytes:
        wanted = self.left if size is None or size < 0 else min(size, self.left)
        pieces = []
        while wanted:
            piece = self.source.read(min(wanted, CHUNK))
            if not piece:
                raise ValueError(f"member {self.name!r} ended {self.left:,} bytes short of "
                                 "its size")
            pieces.append(piece)
            wanted -= len(piece)
            self.left -= len(piece)
        return b"".join(pieces)

    def check_ended(self) -> None:
        if self.source.read(1):
            raise ValueError(f"member {self.name!r} is longer than its size")


# --- reading ----------------------------------------------------------------------------------

def read_sealed(path: str | os.PathLike, secret: str) -> Iterator[tuple[str, BinaryIO]]:
    """The members of a sealed bundle, in order, as (name, binary stream), streaming.

    Read each stream before asking for the next member: asking skips what is left of it and
    closes it. Raises SealedError for a wrong key, a foreign or damaged file, or a member that
    is not a plain file with a safe name; damage past the first chunk is found only when the
    reading reaches it, so the iterator ends normally only if the whole bundle was sound."""
    identity = _identity(secret)
    path = Path(path)
    with open(path, "rb") as sealed_file:
        counted = _Counted(sealed_file)
        pump = _PyrageOnThread(lambda plain: pyrage.decrypt_io(counted, plain, [identity]),
                               feeds_pipe=True)

        def failure(tar_error: BaseException | None) -> SealedError:
            return _explain(pump.finish(), tar_error, path, counted.offset, identity)

        metered = _Metered(pump.ours)
        names: set[str] = set()
        try:
            with metered.headers():
                tar = tarfile.open(fileobj=metered, mode="r|")
            while True:
                with metered.headers():
                    member = tar.next()
                if member is None:
                    break
                del tar.members[:]  # tarfile keeps every header it reads; a bundle has many
                _check_member(member, names)
                content = tar.extractfile(member)
                handed = io.BufferedReader(_MemberStream(content, failure), CHUNK)
                yield member.name, handed
                handed.close()
                _drain(content)  # so that tar.next() reads headers only, within the budget
            if pump.finish() is not None:  # damage after the archive's end, or a cut-short end
                raise failure(None) from pump.error
        except (tarfile.TarError, EOFError, OSError, _OverBudget) as error:
            raise failure(error) from error
        finally:
            pump.stop()  # a caller who stops early stops pyrage; an error then means nothing


def verify_sealed(path: str | os.PathLike, secret: str) -> SealedSummary:
    """Read a bundle through once, keeping nothing; SealedError if anything in it is wrong."""
    members = total = 0
    for _name, stream in read_sealed(path, secret):
        while piece := stream.read(CHUNK):
            total += len(piece)
        members += 1
    return SealedSummary(members, total)


def _check_member(member: tarfile.TarInfo, seen: set[str]) -> None:
    name = member.name
    if not is_safe_member_name(name):
        raise SealedError(f"this bundle holds an entry named {ascii(name)}, which could point "
                          "outside where it is read: it was not made by `jamii kit bundle`; "
                          "refuse it", reason="unsafe_member")
    if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or member.sparse is not None:
        raise SealedError(f"this bundle's entry {name!r} is not a plain file (a link, folder or "
                          "device): it was not made by `jamii kit bundle`; refuse it",
                          reason="unsafe_member")
    if name in seen:
        raise SealedError(f"this bundle holds {name!r} twice: it was not made by "
                          "`jamii kit bundle`; refuse it", reason="unsafe_member")
    seen.add(name)


def _explain(pyrage_error: BaseException | None, tar_error: BaseException | None, path: Path,
             offset: int, identity: x25519.Identity) -> SealedError:
    """One message per way a bundle fails, each saying what to do."""
    if isinstance(pyrage_error, pyrage.DecryptError):
        if "no matching keys" in str(pyrage_error).lower():
            return SealedError(
                f"this bundle was sealed for another central store's key: {path} opens only "
                f"with the key whose public key the field kit was given (this store's is "
                f"{identity.to_public()}); check it is meant for this store, or ask the field "
                "team to bundle again with this store's public key", reason="wrong_key")
        return SealedError(
            f"{path} is not a sealed jamii bundle, or its beginning is damaged "
            f"({pyrage_error}): check it is the file `jamii kit bundle` wrote, and copy it "
            "again from the field laptop", reason="not_a_bundle")
    if pyrage_error is not None:
        size = path.stat().st_size
        return SealedError(
            f"this bundle is damaged or was changed after it was sealed (near byte {offset:,} "
            f"of {size:,}; a copy that did not finish looks the same): refuse it, copy it again "
            "from the field laptop, or bundle again there", reason="damaged")
    return SealedError(
        f"{path} opens with this store's key but does not hold a jamii bundle ({tar_error}): "
        "it was not made by `jamii kit bundle`; refuse it", reason="not_a_bundle")


class _Counted:
    """The sealed file as pyrage reads it, counting bytes so a damage message can say where."""

    def __init__(self, raw: BinaryIO):
        self.raw, self.offset = raw, 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.offset += len(data)
        return data


class _OverBudget(Exception):
    pass


class _Metered:
    """The plaintext as tarfile reads it; while a member's headers are read, no more than
    HEADER_BUDGET bytes, so a hostile header cannot fill memory."""

    def __init__(self, raw: BinaryIO):
        self.raw, self.budget = raw, None

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self.budget is not None:
            self.budget -= len(data)
            if self.budget < 0:
                raise _OverBudget(f"an entry's headers are larger than {HEADER_BUDGET:,} bytes")
        return data

    @contextmanager
    def headers(self) -> Iterator[None]:
        self.budget = HEADER_BUDGET
        try:
            yield
        finally:
            self.budget = None


class _MemberStream(io.RawIOBase):
    """One member's data as the caller reads it; a failure below becomes a SealedError."""

    def __init__(self, content: BinaryIO,
                 failure: Callable[[BaseException | None], SealedError]):
        self.content, self.failure = content, failure

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            return self.content.readinto(buffer)
        except (tarfile.TarError, EOFError, OSError) as error:
            raise self.failure(error) from error


def _drain(content: BinaryIO) -> None:
    while content.read(CHUNK):
        pass
