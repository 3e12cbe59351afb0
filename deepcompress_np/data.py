"""MNIST: the data set of the paper's first experiments, read from the original IDX files.

Deep Compression (Han, Mao and Dally, ICLR 2016) first shows its pipeline on two
small networks trained on MNIST, LeNet-300-100 and LeNet-5 (paper §5.1, Tables 1
to 3). This module loads those 70,000 hand-written digits with nothing
but the standard library and NumPy.

MNIST is shipped as four files in the IDX format. An IDX file is a tiny header
followed by raw numbers, all integers big-endian::

    byte 0-1   two zero bytes
    byte 2     type code of the data (0x08 = unsigned byte, the only one MNIST uses)
    byte 3     number of dimensions, d
    then       d sizes, one 4-byte unsigned integer each (e.g. 60000, 28, 28)
    then       the data, row-major, one byte per pixel (0 = background) or label

The parser below, :func:`read_idx`, checks every header field and checks that
the file holds exactly as many bytes as the header promises *before* it builds
an array, so a corrupt size field cannot make it allocate terabytes.
:func:`load_mnist` then checks the published MD5 checksum of each file, so a
damaged copy is refused instead of silently training on wrong pixels.

Splits returned by :func:`load_mnist`:

* ``"train"``: all 60,000 training images,
* ``"test"``: the 10,000 test images (report accuracy on these),
* ``"fit"``: the first 50,000 training images,
* ``"val"``: the last 10,000 training images, held out from ``"fit"`` so that
  hyper-parameters (pruning thresholds, learning rates) can be chosen without
  looking at the test set.

Where the files are looked for, in order: the ``data_dir`` argument, the
environment variable ``DEEPCOMPRESS_DATA``, a ``data/`` folder in the current
working directory, the repository's ``data/`` folder (in a source checkout;
an installed wheel does not carry MNIST), and a per-user cache folder (where
``download=True``, or the command ``deepcompress download-mnist``, saves
them after checking their MD5 sums).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import sys
import tempfile
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from deepcompress_np._validate import is_integer
from deepcompress_np.bitpack import as_byte_array

# ---------------------------------------------------------------------------
# The four files, their published checksums and the splits
# ---------------------------------------------------------------------------

#: name -> (MD5 of the decompressed file, shape of the array it holds).
#: The MD5 sums are the published ones that every MNIST loader checks.
MNIST_FILES = {
    "train-images-idx3-ubyte": ("6bbc9ace898e44ae57da46a324031adb", (60000, 28, 28)),
    "train-labels-idx1-ubyte": ("a25bea736e30d166cdddb491f175f624", (60000,)),
    "t10k-images-idx3-ubyte": ("2646ac647ad5339dbf082846283269ea", (10000, 28, 28)),
    "t10k-labels-idx1-ubyte": ("27ae3e4e09519cfbb04c329615203637", (10000,)),
}

#: split -> (images file, labels file, slice of that file's examples).
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", slice(None)),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", slice(None)),
    "fit": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", slice(0, 50000)),
    "val": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", slice(50000, 60000)),
}

#: Public mirrors of the original ``.gz`` files, tried in this order by ``download=True``.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: Environment variable naming a folder that holds the four files.
DATA_ENV_VAR = "DEEPCOMPRESS_DATA"

#: The repository's own ``data/`` folder (present in a source checkout or editable install).
REPO_DATA_DIR = Path(__file__).resolve().parent.parent / "data"

#: The command that downloads the files into the user cache (see ``cli.py``).
DOWNLOAD_COMMAND = "deepcompress download-mnist"

#: Seconds to wait for a mirror before giving up on it.
DOWNLOAD_TIMEOUT = 60.0

# ---------------------------------------------------------------------------
# The IDX parser
# ---------------------------------------------------------------------------

#: IDX type codes (byte 2 of the header). Only 0x08 occurs in MNIST.
IDX_TYPE_CODES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "16-bit integer",
    0x0C: "32-bit integer",
    0x0D: "32-bit float",
    0x0E: "64-bit float",
}

GZIP_MAGIC = b"\x1f\x8b"


def _shape_text(shape):
    return " x ".join("N" if s is None else str(s) for s in shape)


def read_idx(raw_bytes, expected_shape=None):
    """Parse the bytes of an (uncompressed) IDX file of unsigned bytes.

    The header is validated field by field, and the data length is compared
    with the length the header promises before any array is made. No checksum
    is checked here (:func:`load_mnist` does that), so small synthetic IDX files
    can be parsed too.

    Parameters
    ----------
    raw_bytes : bytes, bytearray, memoryview or ndarray of uint8, shape (L,)
        The whole file, already decompressed.
    expected_shape : tuple of (int or None), optional
        If given, the header must have ``len(expected_shape)`` dimensions and
        each size must equal the given one; ``None`` accepts any size. For
        MNIST images use ``(None, 28, 28)``, for labels ``(None,)``.

    Returns
    -------
    data : ndarray of uint8, shape given by the header, e.g. (N, 28, 28)
        A read-only view of ``raw_bytes`` (no copy is made).

    Raises
    ------
    TypeError
        If ``raw_bytes`` is not a bytes-like object.
    ValueError
        If the header is malformed, its type code is not 0x08, its dimensions
        differ from ``expected_shape``, or the data is shorter or longer than
        the header says.
    """
    buf = as_byte_array(raw_bytes)
    if expected_shape is not None:
        expected_shape = tuple(expected_shape)
        for size in expected_shape:
            if size is not None and not is_integer(size):
                raise TypeError(f"expected_shape must hold integers or None, got {expected_shape!r}")

    # Bytes 0-3: the "magic number" = two zero bytes, a type code, a dimension count.
    if len(buf) < 4:
        raise ValueError(
            f"not an IDX file: only {len(buf)} byte(s), but the header alone needs at least 4; "
            "the file is truncated or empty"
        )
    magic = buf[:4].tobytes()
    if magic[:2] != b"\x00\x00":
        hint = ""
        if magic[:2] == GZIP_MAGIC:
            hint = " These look like gzip bytes: decompress the file first (load_mnist does this for you)."
        raise ValueError(
            f"not an IDX file: it must start with two zero bytes, found 0x{magic[:2].hex()}.{hint}"
        )
    type_code, ndim = magic[2], magic[3]
    if type_code != 0x08:
        name = IDX_TYPE_CODES.get(type_code, "unknown")
        raise ValueError(
            f"unsupported IDX type code 0x{type_code:02X} ({name}): only 0x08 (unsigned byte) is "
            "supported, which is what the MNIST files use"
        )
    if ndim == 0:
        raise ValueError("IDX header says 0 dimensions; an IDX file needs at least 1")
    if expected_shape is not None and ndim != len(expected_shape):
        raise ValueError(
            f"IDX header says {ndim} dimension(s), expected {len(expected_shape)} "
            f"({_shape_text(expected_shape)}); is this the right file?"
        )

    # Then one big-endian uint32 per dimension.
    header_len = 4 + 4 * ndim
    if len(buf) < header_len:
        raise ValueError(
            f"IDX file truncated inside its header: {ndim} dimension(s) need a {header_len}-byte "
            f"header, the file has {len(buf)} byte(s)"
        )
    shape = tuple(
        int.from_bytes(buf[4 + 4 * i : 8 + 4 * i].tobytes(), "big") for i in range(ndim)
    )
    if expected_shape is not None:
        for axis, (got, want) in enumerate(zip(shape, expected_shape)):
            if want is not None and got != want:
                raise ValueError(
                    f"IDX header says shape {_shape_text(shape)}, expected {_shape_text(expected_shape)} "
                    f"(size {got} on axis {axis} should be {want}); is this the right file?"
                )

    # The data must fill the rest of the file exactly. Python integers cannot
    # overflow, so a header claiming 2**31 images is caught here, before NumPy
    # is asked for any memory.
    n_values = math.prod(shape)
    n_data = len(buf) - header_len
    if n_data < n_values:
        raise ValueError(
            f"IDX file truncated: header says shape {_shape_text(shape)} = {n_values} bytes of data, "
            f"but only {n_data} byte(s) follow the header"
        )
    if n_data > n_values:
        raise ValueError(
            f"IDX file has {n_data - n_values} trailing byte(s): header says shape "
            f"{_shape_text(shape)} = {n_values} bytes of data, but {n_data} follow the header"
        )
    data = buf[header_len:].reshape(shape)
    data.flags.writeable = False
    return data


# ---------------------------------------------------------------------------
# Reading and checking one file
# ---------------------------------------------------------------------------

def _file_size_limit(name):
    """Exact size in bytes of the decompressed IDX file ``name``."""
    shape = MNIST_FILES[name][1]
    return 4 + 4 * len(shape) + math.prod(shape)


def _fix_hint(path):
    return (
        f"Fix: replace {path} with a good copy of the original file, or delete it and call "
        "load_mnist(..., download=True) (command line: --download) to fetch a verified copy."
    )


def _read_decompressed(path, limit):
    """Read ``path`` (gzip or plain IDX), decompressed, never more than ``limit + 1`` bytes.

    gzip files start with the bytes 1f 8b and IDX files with two zero bytes, so
    the first two bytes tell the two apart whatever the file is called.
    """
    with open(path, "rb") as f:
        start = f.read(2)
        f.seek(0)
        if start != GZIP_MAGIC:
            return f.read(limit + 1)
        try:
            with gzip.GzipFile(fileobj=f, mode="rb") as gz:
                return gz.read(limit + 1)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise ValueError(f"not a valid gzip file, probably truncated or damaged ({exc})") from exc


def _verified_idx(path, name):
    """Read, parse and checksum the MNIST file ``name`` stored at ``path``.

    Returns
    -------
    data : ndarray of uint8, shape ``MNIST_FILES[name][1]``, read-only

    Raises
    ------
    ValueError
        Describing what is wrong with the file (the caller adds where and how to fix).
    """
    expected_md5, expected_shape = MNIST_FILES[name]
    limit = _file_size_limit(name)
    raw = _read_decompressed(path, limit)
    if len(raw) > limit:
        raise ValueError(f"it decompresses to more than the {limit} bytes that {name} has")
    data = read_idx(raw, expected_shape)
    actual_md5 = hashlib.md5(raw).hexdigest()
    if actual_md5 != expected_md5:
        raise ValueError(
            f"checksum mismatch: the MD5 of its decompressed bytes is {actual_md5}, but the "
            f"published MD5 of {name} is {expected_md5}, so the file is damaged or not the original"
        )
    return data


# In-process cache of parsed files, so that a notebook calling load_mnist many
# times decompresses each file once. Key: (resolved path, size, mtime, md5);
# a file that is replaced or touched gets a new key. Values are read-only.
_PARSED = {}


def _load_file(path, name):
    """The verified uint8 array of ``name`` at ``path``, from the in-process cache if possible."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, MNIST_FILES[name][0])
    if key not in _PARSED:
        try:
            _PARSED[key] = _verified_idx(path, name)
        except ValueError as exc:
            raise ValueError(f"{path} is not a good copy of {name}: {exc}\n{_fix_hint(path)}") from exc
    return _PARSED[key]


# ---------------------------------------------------------------------------
# Where the files are looked for
# ---------------------------------------------------------------------------

def mnist_cache_dir():
    """The per-user cache folder, where ``download=True`` saves the files.

    ``%LOCALAPPDATA%\\deepcompress_np`` on Windows, else
    ``$XDG_CACHE_HOME/deepcompress_np``, else ``~/.cache/deepcompress_np``.

    Returns
    -------
    path : pathlib.Path
        The folder (it may not exist yet).
    """
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "deepcompress_np"
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "deepcompress_np"
    return Path.home() / ".cache" / "deepcompress_np"


def mnist_search_dirs(data_dir=None):
    """The folders searched for the MNIST files, first match wins.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        A folder to search before all others.

    Returns
    -------
    dirs : list of (pathlib.Path, str)
        Each folder with a short note of where it came from.
    """
    dirs = []
    if data_dir is not None:
        dirs.append((Path(data_dir).expanduser(), "data_dir argument"))
    if os.environ.get(DATA_ENV_VAR):
        dirs.append((Path(os.environ[DATA_ENV_VAR]).expanduser(), f"${DATA_ENV_VAR}"))
    dirs.append((Path.cwd() / "data", "data/ in the current folder"))
    if REPO_DATA_DIR.is_dir() and REPO_DATA_DIR != Path.cwd() / "data":
        dirs.append((REPO_DATA_DIR, "repository data/ folder (source checkout)"))
    dirs.append((mnist_cache_dir(), "user cache folder"))
    return dirs


def _find(name, dirs):
    """First existing ``name`` or ``name.gz`` in ``dirs``, or None."""
    for folder, _ in dirs:
        for candidate in (folder / name, folder / (name + ".gz")):
            if candidate.is_file():
                return candidate
    return None


def _not_found_message(missing, dirs):
    lines = [f"MNIST file(s) not found: {', '.join(missing)} (plain or .gz). Searched, in order:"]
    for folder, origin in dirs:
        note = "" if folder.is_dir() else "  (folder does not exist)"
        lines.append(f"  - {folder}  [{origin}]{note}")
    lines.append(
        f"Fix: run '{DOWNLOAD_COMMAND}' (or python -m deepcompress_np download-mnist) to download them, "
        f"MD5-checked, into {mnist_cache_dir()}; or set {DATA_ENV_VAR}=/path/to/folder holding the four "
        "MNIST .gz files (a clone of the repository has them in data/); or pass data_dir=... "
        "(command line: --data-dir), or call load_mnist(..., download=True)."
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Downloading into the cache folder
# ---------------------------------------------------------------------------

class DownloadError(OSError):
    """No mirror delivered a good copy of an MNIST file."""


def _check_mirrors(mirrors):
    if mirrors is None:
        return MIRRORS
    if isinstance(mirrors, (str, bytes)):
        raise TypeError("mirrors must be a list of base URLs, not a single string: use mirrors=[url]")
    mirrors = tuple(mirrors)
    if not mirrors:
        raise ValueError("mirrors is empty: give at least one base URL, or None for the default list")
    for url in mirrors:
        if not isinstance(url, str):
            raise TypeError(f"each mirror must be a URL string, got {type(url).__name__}")
        if urllib.parse.urlparse(url).scheme not in ("http", "https", "file"):
            raise ValueError(f"mirror {url!r} must be an http://, https:// or file:// URL")
    return mirrors


def _fetch(url, destination, max_bytes):
    """Stream ``url`` into the open binary file ``destination``, at most ``max_bytes``."""
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            raise ValueError(f"server announces {length} bytes, more than the {max_bytes} expected")
        received = 0
        while chunk := response.read(1 << 20):
            received += len(chunk)
            if received > max_bytes:
                raise ValueError(f"more than the {max_bytes} bytes expected")
            destination.write(chunk)


def _download(name, cache_dir, mirrors):
    """Fetch ``name.gz`` into ``cache_dir``, verified; return its path.

    The download goes to a temporary file in ``cache_dir`` and is checked
    (IDX structure and MD5) before ``os.replace`` moves it into place in one
    step, so a half-written or damaged download is never visible. An existing
    good file is never overwritten.
    """
    destination = cache_dir / (name + ".gz")
    cache_dir.mkdir(parents=True, exist_ok=True)
    # gzip can make incompressible data slightly larger, never by 1 %.
    limit = _file_size_limit(name)
    max_bytes = limit + limit // 100 + 4096
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name + ".gz"
        fd, tmp_name = tempfile.mkstemp(prefix=name + ".", suffix=".part", dir=cache_dir)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as f:
                _fetch(url, f, max_bytes)
            _verified_idx(tmp, name)
            if destination.is_file():
                try:
                    _verified_idx(destination, name)
                    return destination  # a good copy appeared meanwhile: keep it
                except ValueError:
                    pass  # the existing file is bad: replace it
            os.replace(tmp, destination)
            return destination
        except (OSError, ValueError, http.client.HTTPException) as exc:
            failures.append(f"  - {url}: {exc}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(
        f"could not download a good copy of {name}.gz; every mirror failed:\n"
        + "\n".join(failures)
        + f"\nFix: check your network connection, pass other mirrors=[...], or copy the file "
        f"into {cache_dir} by hand."
    )


# ---------------------------------------------------------------------------
# The loader
# ---------------------------------------------------------------------------

def load_mnist(split="train", data_dir=None, download=False, mirrors=None):
    """Load one split of MNIST as float images in [0, 1] and integer labels.

    Splits:

    * ``"train"``: all 60,000 training images;
    * ``"test"``: the 10,000 test images, for the final accuracy only;
    * ``"fit"``: the first 50,000 training images;
    * ``"val"``: the last 10,000 training images (disjoint from ``"fit"``), for
      choosing hyper-parameters without touching the test set.

    The files ``<name>`` or ``<name>.gz`` are looked for in ``data_dir``, then
    ``$DEEPCOMPRESS_DATA``, then ``./data``, then the repository's ``data/``
    folder, then the user cache folder (see :func:`mnist_search_dirs`). Each file's IDX header
    and MD5 checksum are verified. Parsed files are kept in memory, so loading
    again is fast; every call still returns new arrays, free to modify.

    Parameters
    ----------
    split : {"train", "test", "fit", "val"}
        Which examples to return.
    data_dir : str or os.PathLike, optional
        A folder to search first.
    download : bool
        If True, files found nowhere are downloaded into the cache folder
        (:func:`mnist_cache_dir`) from ``mirrors`` and verified.
    mirrors : sequence of str, optional
        Base URLs to download from, tried in order; default :data:`MIRRORS`.

    Returns
    -------
    X : ndarray of float32, shape (N, 1, 28, 28)
        Pixel intensities divided by 255, so 0 is background and 1 is ink.
    y : ndarray of int64, shape (N,)
        Digit labels 0 to 9.

    Raises
    ------
    ValueError
        Unknown split, or a file that is malformed or fails its checksum.
    FileNotFoundError
        A file is in none of the searched folders (and ``download`` is False).
    DownloadError
        ``download=True`` and no mirror delivered a good copy.
    """
    if not isinstance(split, str):
        raise TypeError(f"split must be a string, got {type(split).__name__}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits are: {', '.join(map(repr, SPLITS))}")
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir must be a path (str or os.PathLike), got {type(data_dir).__name__}")
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        raise FileNotFoundError(
            f"data_dir {str(data_dir)!r} is not a folder; pass the folder that holds the MNIST files "
            f"(or leave data_dir out to search ${DATA_ENV_VAR}, the repository's data/ and the user cache)"
        )
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, got {download!r}")
    mirrors = _check_mirrors(mirrors)

    images_name, labels_name, examples = SPLITS[split]
    dirs = mnist_search_dirs(data_dir)
    paths = {name: _find(name, dirs) for name in (images_name, labels_name)}
    missing = [name for name, path in paths.items() if path is None]
    if missing and not download:
        raise FileNotFoundError(_not_found_message(missing, dirs))
    for name in missing:
        paths[name] = _download(name, mnist_cache_dir(), mirrors)

    images = _load_file(paths[images_name], images_name)
    labels = _load_file(paths[labels_name], labels_name)
    if len(images) != len(labels):
        raise ValueError(
            f"{paths[images_name]} holds {len(images)} images but {paths[labels_name]} holds "
            f"{len(labels)} labels; the two files must come from the same MNIST split"
        )

    # Fresh arrays every call: the cached uint8 arrays stay untouched.
    X = images[examples].astype(np.float32)
    X /= np.float32(255)
    X = X.reshape(len(X), 1, *images.shape[1:])
    y = labels[examples].astype(np.int64)
    return X, y
