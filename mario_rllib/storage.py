"""Where experiments live: a local directory, a shared mount, or a bucket (`s3://`, `gs://`).

Everything goes through pyarrow filesystems, resolved by Ray's own storage layer
(`ray.train._internal.storage.get_fs_and_path`), as Tune resolves `RunConfig.storage_path`: what
`mario-rllib train` writes to a bucket, `evaluate`, `play`, `plot`, `dream`, `results` and
`train --resume` read from it, with no copy step of our own.

Credentials and the endpoint come only from the environment or the instance's role, as for the
AWS CLI: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (or an instance profile), `AWS_REGION`,
`AWS_ENDPOINT_URL` for an S3-compatible server (MinIO, Ceph); `GOOGLE_APPLICATION_CREDENTIALS`
(or the VM's service account) for `gs://`. A URI carrying credentials or options is refused:
Tune saves the storage URI in the experiment state, and a secret in it would be saved too.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import posixpath
import re
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.fs as pafs

BUCKET_SCHEMES = {"s3": "s3", "gs": "gs", "gcs": "gs"}
"""URI schemes of object stores -> the scheme printed back (pyarrow reads gcs:// as gs://)."""

USAGE = "a local directory, a shared mount, s3://BUCKET/PREFIX or gs://BUCKET/PREFIX"


@dataclasses.dataclass(frozen=True)
class Location:
    """A path on a pyarrow filesystem, printed the way a user would type it back."""

    fs: pafs.FileSystem
    path: str
    """The path on `fs`: absolute for a local one, `bucket/prefix/...` for a bucket."""
    scheme: str = ""
    """"s3" or "gs" for a bucket; "" for a local path (a shared mount is local to each node)."""

    def __str__(self) -> str:
        return f"{self.scheme}://{self.path}" if self.scheme else self.path

    @property
    def local(self) -> bool:
        return not self.scheme

    @property
    def name(self) -> str:
        return posixpath.basename(self.path.rstrip("/"))

    @property
    def parent(self) -> Location:
        return dataclasses.replace(self, path=posixpath.dirname(self.path.rstrip("/")))

    def __truediv__(self, part: str) -> Location:
        return dataclasses.replace(self, path=posixpath.join(self.path, str(part)))

    def _type(self) -> pafs.FileType:
        return self.fs.get_file_info(self.path).type

    def exists(self) -> bool:
        return self._type() != pafs.FileType.NotFound

    def is_dir(self) -> bool:
        return self._type() == pafs.FileType.Directory

    def is_file(self) -> bool:
        return self._type() == pafs.FileType.File

    def children(self, pattern: str = "*", dirs: bool = False) -> list[Location]:
        """The entries directly inside this directory whose names match `pattern` (only the
        directories if `dirs`), by name; none if it is not a directory."""
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(self.path, allow_not_found=True))
        except NotADirectoryError:
            return []
        return sorted((dataclasses.replace(self, path=info.path) for info in infos
                       if fnmatch.fnmatchcase(info.base_name, pattern)
                       and (not dirs or info.type == pafs.FileType.Directory)),
                      key=lambda loc: loc.path)

    def mtime(self) -> float:
        """Modification time in seconds (0 where the store keeps none, as for a bucket's
        prefixes)."""
        info = self.fs.get_file_info(self.path)
        return info.mtime.timestamp() if info.mtime is not None else 0.0

    def read_bytes(self) -> bytes:
        with self.fs.open_input_stream(self.path) as f:
            return f.read()

    def read_text(self) -> str:
        return self.read_bytes().decode()

    def write_bytes(self, data: bytes) -> None:
        with self.fs.open_output_stream(self.path) as f:
            f.write(data)

    def write_text(self, text: str) -> None:
        self.write_bytes(text.encode())

    def make_dir(self) -> None:
        self.fs.create_dir(self.path, recursive=True)


def is_uri(text: str) -> bool:
    return "://" in str(text)


def locate(text: str | Path, flag: str = "path") -> Location:
    """A path or URI as the user gave it -> its Location; a one-line ValueError naming `flag`
    for a scheme pyarrow cannot serve here, or a URI that carries credentials or options."""
    text = str(text)
    if not is_uri(text):  # absolute: RLlib reads a relative path as a URI without a scheme
        return Location(pafs.LocalFileSystem(), str(Path(text).expanduser().resolve()))
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return locate(parts.path, flag)
    if scheme not in BUCKET_SCHEMES:
        raise ValueError(f"bad {flag} {text!r}: unknown scheme {parts.scheme + '://'!r}; "
                         f"expected {USAGE}")
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise ValueError(
            f"bad {flag} {_redact(text)!r}: a storage URI takes no credentials or options (they "
            f"would be saved with the experiment); set them in the environment, e.g. "
            f"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL")
    if not parts.netloc:
        raise ValueError(f"bad {flag} {text!r}: no bucket; expected {USAGE}")
    from ray.train._internal.storage import get_fs_and_path  # Tune's own resolution

    try:
        fs, path = get_fs_and_path(text)
    except Exception as error:  # pyarrow: OSError, ArrowInvalid, ... (no region, no bucket)
        raise ValueError(f"bad {flag} {text!r}: {store_error(error)}") from error
    return Location(fs, path.rstrip("/"), BUCKET_SCHEMES[scheme])


def as_location(where: str | Path | Location, flag: str = "path") -> Location:
    """`where` as a Location: one already is; a path or URI is located."""
    return where if isinstance(where, Location) else locate(where, flag)


def location_of(fs: pafs.FileSystem | None, path: str) -> Location:
    """Where Tune or RLlib says something is (a filesystem and a path on it) -> a Location."""
    scheme = {"s3": "s3", "gcs": "gs"}.get(getattr(fs, "type_name", "local"), "")
    return Location(fs or pafs.LocalFileSystem(), path, scheme)


CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN",
                        "AWS_SESSION_TOKEN")


def keep_credentials_out_of_ray() -> None:
    """Stop Tune from copying AWS credentials from this process's environment into each trial
    actor's runtime env (ray/tune/execution/class_cache.py, `ENV_VARS_TO_PROPAGATE`): Ray's
    runtime-env agent logs a runtime env in plain text (`runtime_env_agent.log` in the session's
    logs) and keeps it with the actor, where the dashboard shows it.

    Nothing is lost: a local Ray's workers inherit this process's environment, and on a cluster
    each node's processes get credentials the way they should, from the node's environment or
    its instance role (scripts/cluster/*.yaml)."""
    from ray.tune.execution import class_cache

    class_cache.ENV_VARS_TO_PROPAGATE.difference_update(CREDENTIAL_VARIABLES)


def check_writable(location: Location, flag: str, given: str) -> None:
    """A one-line ValueError unless this process can write under `location`: a local directory
    that exists or can be made, or a bucket prefix where a marker object can be written (which
    catches a missing bucket, missing credentials and a read-only role). Nothing is left."""
    if location.local:
        check_writable_dir(location.path, flag, given)
        return
    marker = location / f".mario-rllib-check-{uuid.uuid4().hex}"
    try:
        existed = location.exists() if "/" in location.path else True
        marker.write_text("")
        location.fs.delete_file(marker.path)
        if not existed and not location.children():  # pyarrow left an empty prefix marker
            location.fs.delete_dir(location.path)
    except Exception as error:  # pyarrow raises OSError; credentials errors vary
        reason = store_error(error)
        hint = ("; credentials come only from the environment or the node's role (the URI "
                "takes none)" if not re.search(r"bucket does not exist|NO_SUCH_BUCKET", reason)
                else "")
        raise ValueError(f"bad {flag} {given!r}: cannot write there ({reason}){hint}") from error


def check_writable_dir(path: str | Path, flag: str, given: str | None = None) -> None:
    """A one-line ValueError unless `path` is a directory that exists, or one that can be made
    (its nearest existing ancestor is a directory this process can write in). Nothing is left
    behind. The error names `given` (what the user typed; default: `path`)."""
    given = str(path) if given is None else given
    existing = Path(path).expanduser().absolute()
    while not os.path.lexists(existing):  # never raises (Path.exists may, in a closed directory)
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"bad {flag} {given!r}: {str(existing)!r} is a file, not a "
                         f"directory")
    try:  # the one way to know: a directory made and removed (access() says yes to root)
        os.rmdir(tempfile.mkdtemp(prefix=".mario-rllib-check-", dir=existing))
    except OSError as error:
        raise ValueError(f"bad {flag} {given!r}: cannot write in {str(existing)!r} "
                         f"({error.strerror or error})") from error


def one_line(error: BaseException) -> str:
    """An exception as one line: its first line, or its type's name when it has no message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def store_error(error: BaseException) -> str:
    """An object store's error in one short line: pyarrow's "When <doing>: AWS Error <CODE>
    during <operation>: <message> (Request ID: ...)" -> "<CODE>: <message>"."""
    text = one_line(error)
    aws = re.search(r"AWS Error (\S+)(?: \(HTTP status (\d+)\))? during \S+ operation: "
                    r"(.*?)(?: \(Request ID: [^)]*\))?$", text)
    if not aws:
        return text
    return f"{aws[1]}" + (f" (HTTP {aws[2]})" if aws[2] else "") + f": {aws[3]}"


def _redact(text: str) -> str:
    """A URI with its user info and query blanked, for an error message."""
    parts = urlsplit(text)
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{'***@' if '@' in parts.netloc else ''}{netloc}{parts.path}" + (
        "?***" if parts.query else "")
