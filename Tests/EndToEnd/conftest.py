"""Starts the real `akto-access serve` binary on a temporary data dir for the interop tests."""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# The Python reference client (akrp_client, and the protoc --python_out modules under gen/).
sys.path.insert(0, os.path.join(ROOT, "tools", "python"))
# Many servers run at once here: none binds the default metrics port 9464 unless a test asks for a listener
# (`--metrics-address 127.0.0.1:PORT`).
os.environ.setdefault("AKTO_ACCESS_METRICS_ADDRESS", "off")
# The suites drive many concurrent sign-ins from one uid (one peer): the per-peer hashing queue and anonymous
# rate limit are raised here; test_abuse.py passes the defaults explicitly where it tests them.
os.environ.setdefault("AKTO_ACCESS_HASH_QUEUE_PER_PEER", "10000")
os.environ.setdefault("AKTO_ACCESS_ANONYMOUS_RATE", "100000")
os.environ.setdefault("AKTO_ACCESS_ANONYMOUS_BURST", "100000")


def binary():
    path = os.environ.get("AKTO_ACCESS_BIN") or os.path.join(ROOT, ".build", "debug", "akto-access")
    if not os.path.exists(path):
        pytest.fail(f"{path} does not exist: run `swift build` first (tools/test does)")
    return path


POSTGRES_URL = os.environ.get("AKTO_TEST_POSTGRES_URL") or None
# tools/test sets AKTO_TEST_REQUIRE_POSTGRES=1: there a missing cluster fails the PostgreSQL tests instead of
# skipping them.
POSTGRES_REQUIRED = os.environ.get("AKTO_TEST_REQUIRE_POSTGRES") == "1"
# AKTO_TEST_BACKEND=postgres runs every Server on a fresh PostgreSQL database instead of SQLite.
BACKEND = os.environ.get("AKTO_TEST_BACKEND", "sqlite")
_databases = {}


def require_postgres():
    """The cluster URL, or a skip (a failure where tools/test requires PostgreSQL)."""
    if POSTGRES_URL:
        return POSTGRES_URL
    message = "PostgreSQL tests skipped: set AKTO_TEST_POSTGRES_URL (tools/pg-test-cluster start DIR prints one)"
    if POSTGRES_REQUIRED:
        pytest.fail(message)
    pytest.skip(message)


def fresh_database():
    """A new empty database in the test cluster; returns its URL."""
    url = require_postgres()
    name = "akto_py_" + uuid.uuid4().hex
    subprocess.run(["psql", url, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return url.replace("/postgres?", f"/{name}?") if "/postgres?" in url else url.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def own_cluster(*options):
    """A PostgreSQL cluster of the test's own (for tests that stop it or need TLS): yields (tool, folder, URL) and
    stops and removes it afterwards. `options` go to tools/pg-test-cluster (--fast, --tls)."""
    require_postgres()
    tool = os.path.join(ROOT, "tools", "pg-test-cluster")
    folder = tempfile.mkdtemp(prefix="akto-cluster-")
    url = subprocess.run([tool, "start", folder, *options], check=True, capture_output=True, text=True).stdout.strip()
    try:
        yield tool, folder, url
    finally:
        subprocess.run([tool, "stop", folder], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def psql(database_url, sql):
    """Rows of a query as lists of strings."""
    out = subprocess.run(["psql", database_url, "-AtF", "\t", "-c", sql], check=True, capture_output=True, text=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def database_env(data_dir):
    """The environment of an `akto-access` command on `data_dir`: with AKTO_TEST_BACKEND=postgres, the database
    URL of that data dir (the one its servers use), so `admin` commands reach the same store."""
    env = dict(os.environ)
    if BACKEND == "postgres":
        if data_dir not in _databases:
            _databases[data_dir] = fresh_database()
        env["AKTO_ACCESS_DATABASE_URL"] = _databases[data_dir]
    return env


class Server:
    """A running `akto-access serve` with its own data dir; `terminate()` sends SIGTERM and returns the exit code.
    With `database_url` (or AKTO_TEST_BACKEND=postgres, one fresh database per data dir) it runs on PostgreSQL."""

    def __init__(self, extra_args=(), data_dir=None, http_port=None, database_url=None, preexec_fn=None,
                 socket_path=None):
        self.dir = data_dir or tempfile.mkdtemp(prefix="akto-py-")
        self.socket = socket_path or os.path.join(self.dir, "akto-access.sock")
        if socket_path:
            extra_args = ["--socket-path", socket_path, *extra_args]
        if database_url is None and BACKEND == "postgres":
            if self.dir not in _databases:
                _databases[self.dir] = fresh_database()
            database_url = _databases[self.dir]
        self.database_url = database_url
        env = dict(os.environ)
        if database_url:
            env["AKTO_ACCESS_DATABASE_URL"] = database_url
        self.log = open(os.path.join(self.dir, "server.log"), "w+")
        self.process = subprocess.Popen(
            [binary(), "serve", "--data-dir", self.dir, "--log-level", "warning", "--scrypt-log-rounds", "10",
             "--http-address", f"127.0.0.1:{http_port}" if http_port else "off", *extra_args],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, preexec_fn=preexec_fn)
        # Ready means accepting connections: after a kill -9 a stale socket file exists before the new server
        # has replaced it.
        deadline = time.time() + 30
        while not self._accepts():
            if self.process.poll() is not None or time.time() > deadline:
                self.log.seek(0)
                raise RuntimeError("the server did not start:\n" + self.log.read())
            time.sleep(0.02)

    def _accepts(self):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(self.socket)
            return True
        except OSError:
            return False
        finally:
            probe.close()

    def terminate(self, timeout=20):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def output(self):
        self.log.seek(0)
        return self.log.read()


def wait_for_http(port, seconds=20):
    """Waits until the gateway on `port` answers /healthz."""
    import urllib.request
    deadline = time.time() + seconds
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def free_port():
    """A TCP port nothing listens on right now."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def server():
    s = Server()
    yield s
    if s.process.poll() is None:
        s.process.kill()
        s.process.wait()
