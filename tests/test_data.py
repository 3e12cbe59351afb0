"""Tests for deepcompress_np.data: the IDX parser and the MNIST loader."""

import functools
import gzip
import hashlib
import http.server
import os
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from deepcompress_np import data

REAL_DATA = Path(data.__file__).resolve().parent.parent / "data"

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

# Published MD5 sums, typed in again from the shared README as an independent check.
PUBLISHED_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def idx_bytes(shape, payload=None, type_code=0x08, ndim=None, seed=0):
    """An IDX file: header for ``shape`` followed by ``payload`` (random if None)."""
    ndim = len(shape) if ndim is None else ndim
    header = bytes([0, 0, type_code, ndim]) + b"".join(int(s).to_bytes(4, "big") for s in shape)
    if payload is None:
        payload = np.random.default_rng(seed).integers(0, 256, size=int(np.prod(shape)), dtype=np.uint8)
    return header + np.asarray(payload, dtype=np.uint8).tobytes()


def synthetic_set(n_train=6, n_test=4, seed=0):
    """name -> IDX bytes of four small MNIST-like files."""
    rng = np.random.default_rng(seed)
    files = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        files[f"{prefix}-images-idx3-ubyte"] = idx_bytes(
            (n, 28, 28), rng.integers(0, 256, size=n * 784, dtype=np.uint8)
        )
        files[f"{prefix}-labels-idx1-ubyte"] = idx_bytes((n,), rng.integers(0, 10, size=n, dtype=np.uint8))
    return files


def table_for(files):
    """An MNIST_FILES table whose checksums and shapes match ``files``."""
    table = {}
    for name, raw in files.items():
        ndim = raw[3]
        shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
        table[name] = (hashlib.md5(raw).hexdigest(), shape)
    return table


def write_set(folder, files, compress=True):
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in files.items():
        if compress:
            (folder / (name + ".gz")).write_bytes(gzip.compress(raw, mtime=0))
        else:
            (folder / name).write_bytes(raw)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Fresh in-process cache; no data folder but the ones a test sets up."""
    monkeypatch.setattr(data, "_PARSED", {})
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setattr(data, "REPO_DATA_DIR", tmp_path / "repo-data")
    (tmp_path / "repo-data").mkdir()
    monkeypatch.chdir(tmp_path)  # so that ./data is not the repository's
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(data, "DOWNLOAD_TIMEOUT", 10.0)


@pytest.fixture
def synthetic(monkeypatch):
    files = synthetic_set()
    monkeypatch.setattr(data, "MNIST_FILES", table_for(files))
    return files


# ---------------------------------------------------------------------------
# the real files
# ---------------------------------------------------------------------------

def test_checksum_table_matches_published_values_and_real_files():
    assert {name: md5 for name, (md5, _) in data.MNIST_FILES.items()} == PUBLISHED_MD5
    for name, (md5, shape) in data.MNIST_FILES.items():
        raw = gzip.decompress((REAL_DATA / (name + ".gz")).read_bytes())
        assert hashlib.md5(raw).hexdigest() == md5
        assert len(raw) == 4 + 4 * len(shape) + int(np.prod(shape))


def test_real_splits_shapes_dtypes_ranges_and_class_counts():
    X_train, y_train = data.load_mnist("train", data_dir=REAL_DATA)
    X_test, y_test = data.load_mnist("test", data_dir=REAL_DATA)
    for X, y, n, counts in ((X_train, y_train, 60000, TRAIN_COUNTS), (X_test, y_test, 10000, TEST_COUNTS)):
        assert X.shape == (n, 1, 28, 28) and X.dtype == np.float32
        assert y.shape == (n,) and y.dtype == np.int64
        assert X.min() == 0.0 and X.max() == 1.0
        assert np.bincount(y, minlength=10).tolist() == counts

    X_fit, y_fit = data.load_mnist("fit", data_dir=REAL_DATA)
    X_val, y_val = data.load_mnist("val", data_dir=REAL_DATA)
    assert X_fit.shape == (50000, 1, 28, 28) and X_val.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(X_fit, X_train[:50000])
    np.testing.assert_array_equal(X_val, X_train[50000:])
    np.testing.assert_array_equal(np.concatenate([y_fit, y_val]), y_train)


def test_pixels_are_uint8_divided_by_255():
    X, _ = data.load_mnist("test", data_dir=REAL_DATA)
    raw = gzip.decompress((REAL_DATA / "t10k-images-idx3-ubyte.gz").read_bytes())
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(10000, 1, 28, 28)
    np.testing.assert_array_equal(X, pixels.astype(np.float32) / np.float32(255))


# ---------------------------------------------------------------------------
# read_idx on synthetic files
# ---------------------------------------------------------------------------

def test_read_idx_round_trip_and_read_only():
    payload = np.arange(2 * 3 * 4, dtype=np.uint8)
    arr = data.read_idx(idx_bytes((2, 3, 4), payload), expected_shape=(None, 3, 4))
    assert arr.dtype == np.uint8 and arr.shape == (2, 3, 4)
    np.testing.assert_array_equal(arr.ravel(), payload)
    assert not arr.flags.writeable
    # bytearray input: the returned view must not let callers write through it
    assert not data.read_idx(bytearray(idx_bytes((5,)))).flags.writeable


@pytest.mark.parametrize(
    "raw, expected_shape, message",
    [
        (b"\x01\x00" + idx_bytes((3,))[2:], None, "two zero bytes"),
        (gzip.compress(idx_bytes((3,))), None, "gzip"),
        (idx_bytes((3,), type_code=0x0D), None, "type code 0x0D"),
        (idx_bytes((3,), type_code=0x42), None, "type code 0x42"),
        (idx_bytes((), ndim=0), None, "0 dimensions"),
        (idx_bytes((2, 28, 28)), (None,), "3 dimension(s), expected 1"),
        (idx_bytes((2, 27, 28)), (None, 28, 28), "axis 1 should be 28"),
        (idx_bytes((4, 28, 28))[:-1], (None, 28, 28), "truncated"),
        (idx_bytes((4, 28, 28))[:10], None, "truncated inside its header"),
        (b"\x00\x00", None, "truncated or empty"),
        (idx_bytes((4,)) + b"\x00\x07", None, "2 trailing byte(s)"),
    ],
    ids=[
        "magic", "gzip-bytes", "float-type", "unknown-type", "zero-dims", "wrong-ndim",
        "27x28", "truncated-data", "truncated-header", "too-short", "trailing",
    ],
)
def test_read_idx_rejects_bad_files(raw, expected_shape, message):
    with pytest.raises(ValueError) as info:
        data.read_idx(raw, expected_shape)
    assert message in str(info.value)


def test_read_idx_huge_header_raises_before_allocating():
    raw = bytes([0, 0, 8, 3]) + (2**31).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\x00" * 100
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="truncated"):
            data.read_idx(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_read_idx_type_errors():
    with pytest.raises(TypeError):
        data.read_idx("not bytes")
    with pytest.raises(TypeError):
        data.read_idx(idx_bytes((3,)), expected_shape=(3.0,))


# ---------------------------------------------------------------------------
# the loader on synthetic files
# ---------------------------------------------------------------------------

def test_loader_reads_gz_and_plain_files(tmp_path, synthetic):
    write_set(tmp_path / "gz", {k: v for k, v in synthetic.items() if "images" in k})
    write_set(tmp_path / "gz", {k: v for k, v in synthetic.items() if "labels" in k}, compress=False)
    X, y = data.load_mnist("test", data_dir=tmp_path / "gz")
    raw_images, raw_labels = synthetic["t10k-images-idx3-ubyte"], synthetic["t10k-labels-idx1-ubyte"]
    np.testing.assert_array_equal(y, np.frombuffer(raw_labels, np.uint8, offset=8))
    np.testing.assert_array_equal(X.ravel() * 255, np.frombuffer(raw_images, np.uint8, offset=16))


def test_checksum_mismatch_names_file_checksums_and_fix(tmp_path, synthetic):
    bad = dict(synthetic)
    bad["t10k-labels-idx1-ubyte"] = idx_bytes((4,), [9, 9, 9, 9])  # well-formed, wrong content
    write_set(tmp_path, bad)
    with pytest.raises(ValueError) as info:
        data.load_mnist("test", data_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "t10k-labels-idx1-ubyte.gz") in message
    assert data.MNIST_FILES["t10k-labels-idx1-ubyte"][0] in message
    assert hashlib.md5(bad["t10k-labels-idx1-ubyte"]).hexdigest() in message
    assert "download=True" in message


def test_truncated_and_oversized_files_are_rejected(tmp_path, synthetic):
    write_set(tmp_path, synthetic)
    gz = tmp_path / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-20])
    with pytest.raises(ValueError, match="gzip"):
        data.load_mnist("test", data_dir=tmp_path)

    write_set(tmp_path, synthetic)
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(synthetic["t10k-images-idx3-ubyte"] + b"\x00" * 5000)
    with pytest.raises(ValueError, match="more than"):
        data.load_mnist("test", data_dir=tmp_path)


def test_image_and_label_counts_must_agree(tmp_path, monkeypatch):
    files = synthetic_set(n_train=6, n_test=4)
    files["t10k-labels-idx1-ubyte"] = idx_bytes((3,), [1, 2, 3])
    monkeypatch.setattr(data, "MNIST_FILES", table_for(files))
    write_set(tmp_path, files)
    with pytest.raises(ValueError, match="4 images but .* 3 labels"):
        data.load_mnist("test", data_dir=tmp_path)


def test_fresh_arrays_and_in_process_cache(tmp_path, synthetic, monkeypatch):
    write_set(tmp_path, synthetic)
    calls = []
    original = data._verified_idx
    monkeypatch.setattr(data, "_verified_idx", lambda path, name: calls.append(name) or original(path, name))

    X1, y1 = data.load_mnist("train", data_dir=tmp_path)
    X1[:] = -1.0
    y1[:] = -1
    X2, y2 = data.load_mnist("train", data_dir=tmp_path)
    assert len(calls) == 2  # images + labels parsed once, then served from memory
    assert X2.min() >= 0.0 and y2.min() >= 0

    os.utime(tmp_path / "train-labels-idx1-ubyte.gz", ns=(1, 1))  # a changed file is re-read
    data.load_mnist("train", data_dir=tmp_path)
    assert calls == ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "train-labels-idx1-ubyte"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="'train', 'test', 'fit', 'val'"):
        data.load_mnist("validation")
    with pytest.raises(TypeError):
        data.load_mnist(0)
    with pytest.raises(TypeError):
        data.load_mnist("test", data_dir=3)
    with pytest.raises(TypeError):
        data.load_mnist("test", download="yes")
    with pytest.raises(TypeError, match="single string"):
        data.load_mnist("test", download=True, mirrors="http://127.0.0.1/")
    with pytest.raises(ValueError):
        data.load_mnist("test", download=True, mirrors=["ftp://example.org/"])


# ---------------------------------------------------------------------------
# where the files are looked for
# ---------------------------------------------------------------------------

def test_missing_files_message_lists_every_place(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path / "from-env"))
    (tmp_path / "from-arg").mkdir()
    with pytest.raises(FileNotFoundError) as info:
        data.load_mnist("test", data_dir=tmp_path / "from-arg")
    message = str(info.value)
    for place in (tmp_path / "from-arg", tmp_path / "from-env", tmp_path / "data", data.REPO_DATA_DIR,
                  data.mnist_cache_dir()):
        assert str(place) in message
    assert data.DATA_ENV_VAR in message and "download=True" in message and "download-mnist" in message
    assert "t10k-images-idx3-ubyte" in message


def test_data_dir_that_is_not_a_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        data.load_mnist("test", data_dir=tmp_path / "typo")


def test_search_order(tmp_path, monkeypatch):
    # Three folders with different (each valid) labels: which one is read?
    variants = {}
    for where, label in (("arg", 1), ("env", 2), ("cwd/data", 4), ("repo", 3)):
        files = synthetic_set()
        files["t10k-labels-idx1-ubyte"] = idx_bytes((4,), [label] * 4)
        variants[where] = files
        write_set(tmp_path / where, files)
    table = table_for(variants["arg"])

    def load_with_labels_of(where):
        monkeypatch.setattr(data, "MNIST_FILES", dict(table, **{
            "t10k-labels-idx1-ubyte": table_for(variants[where])["t10k-labels-idx1-ubyte"]
        }))
        return int(data.load_mnist("test", data_dir=tmp_path / "arg")[1][0])

    monkeypatch.setattr(data, "REPO_DATA_DIR", tmp_path / "repo")
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path / "env"))
    assert load_with_labels_of("arg") == 1  # data_dir beats everything

    (tmp_path / "arg" / "t10k-labels-idx1-ubyte.gz").unlink()
    assert load_with_labels_of("env") == 2  # then $DEEPCOMPRESS_DATA

    monkeypatch.delenv(data.DATA_ENV_VAR)
    monkeypatch.chdir(tmp_path / "cwd")
    assert load_with_labels_of("cwd/data") == 4  # then ./data

    monkeypatch.chdir(tmp_path)
    assert load_with_labels_of("repo") == 3  # then the repository's data/


def test_an_installed_copy_without_a_repository_folder_does_not_list_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "REPO_DATA_DIR", tmp_path / "site-packages" / "data")
    origins = [origin for _, origin in data.mnist_search_dirs()]
    assert origins == ["data/ in the current folder", "user cache folder"]


def test_cache_dir_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "somewhere"))
    assert data.mnist_cache_dir() == tmp_path / "somewhere" / "deepcompress_np"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.mnist_cache_dir() == Path.home() / ".cache" / "deepcompress_np"


# ---------------------------------------------------------------------------
# download=True against a local HTTP server
# ---------------------------------------------------------------------------

@pytest.fixture
def mirror(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/served; yields (url, request log)."""
    root = tmp_path / "served"
    root.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    handler = functools.partial(Handler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root, requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_download_real_test_files(mirror):
    url, root, requests = mirror
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (root / (name + ".gz")).write_bytes((REAL_DATA / (name + ".gz")).read_bytes())

    X, y = data.load_mnist("test", download=True, mirrors=[url])
    cache = data.mnist_cache_dir()
    expected = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert sorted(p.name for p in cache.iterdir()) == expected
    assert np.bincount(y).tolist() == TEST_COUNTS
    X_ref, y_ref = data.load_mnist("test", data_dir=REAL_DATA)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)

    # Files now found in the cache: nothing is fetched again.
    n_requests = len(requests)
    data.load_mnist("test", download=True, mirrors=[url])
    assert len(requests) == n_requests == 2


def test_corrupted_download_is_rejected_and_not_cached(mirror, synthetic):
    url, root, _ = mirror
    write_set(root, synthetic)
    bad = bytearray(synthetic["t10k-labels-idx1-ubyte"])
    bad[-1] ^= 1
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(bad)))
    refused = "http://127.0.0.1:1/"  # nothing listens on port 1

    with pytest.raises(data.DownloadError) as info:
        data.load_mnist("test", download=True, mirrors=[refused, url])
    message = str(info.value)
    assert refused + "t10k-labels-idx1-ubyte.gz" in message
    assert url + "t10k-labels-idx1-ubyte.gz" in message
    assert "checksum mismatch" in message
    # The good images file was kept; the bad labels and no temporary file were left behind.
    assert sorted(p.name for p in data.mnist_cache_dir().iterdir()) == ["t10k-images-idx3-ubyte.gz"]


def test_download_missing_file_on_server(mirror, synthetic):
    url, _, _ = mirror
    with pytest.raises(data.DownloadError, match="404"):
        data.load_mnist("test", download=True, mirrors=[url])
    assert list(data.mnist_cache_dir().iterdir()) == []


def test_download_never_overwrites_a_good_file(mirror, synthetic):
    url, root, _ = mirror
    write_set(root, synthetic)
    cache = data.mnist_cache_dir()
    write_set(cache, {"t10k-labels-idx1-ubyte": synthetic["t10k-labels-idx1-ubyte"]})
    existing = cache / "t10k-labels-idx1-ubyte.gz"
    os.utime(existing, ns=(10**9, 10**9))

    assert data._download("t10k-labels-idx1-ubyte", cache, [url]) == existing
    assert existing.stat().st_mtime_ns == 10**9
    assert sorted(p.name for p in cache.iterdir()) == ["t10k-labels-idx1-ubyte.gz"]
