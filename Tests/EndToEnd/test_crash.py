"""Crash durability (<doc:Hardening>): acknowledged mutations from several clients while the server is killed
with SIGKILL at random points and restarted, again and again; then the database is checked directly. Also a
full disk: clean UNAVAILABLE errors, nothing corrupted, writes resume when space returns.

Quick sizes run in the test suite; `tools/harden` runs AKTO_HARDEN_KILLS=100 and records the figures.
"""
import os
import random
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest

from akrp_client import AkrpClient, ProtocolError
from akto.access.v1 import inventory_pb2, job_pb2, role_pb2, session_pb2, token_pb2
from conftest import Server, binary
from test_hostile import report

KILLS = int(os.environ.get("AKTO_HARDEN_KILLS", "4"))
PREFIX = "/akto.access.v1."
OK, UNAVAILABLE = 0, 14


def call(client, method, request, response_type=None, session=None):
    return client.call(PREFIX + method, request, response_type, metadata=session)


def signup(server):
    client = AkrpClient.connect(server.socket, timeout=60)
    status, answer = call(client, "SessionService/Signup",
                          session_pb2.SignupRequest(email="admin@example.com", password="Secret123-horse"),
                          session_pb2.SignupResponse)
    assert status.code == OK, status
    session = {"authorization": "Bearer " + answer.session_token}
    return client, session


def seed_inventory(client, session, components=3000):
    status, created = call(client, "InventoryService/CreateCollection",
                           inventory_pb2.CreateCollectionRequest(collection_name="crash"),
                           inventory_pb2.CreateCollectionResponse, session)
    assert status.code == OK, status
    for start in range(0, components, 1000):
        request = inventory_pb2.RecordTrafficSamplesRequest()
        for i in range(start, start + 1000):
            sample = request.samples.add()
            sample.api_collection_id = created.api_collection.id
            sample.method, sample.url, sample.direction = "GET", f"/c/{i}", "INCOMING"
            sample.source_ip, sample.destination_ip = f"10.0.{i // 256 % 256}.{i % 256}", "10.1.1.1"
        status, _ = call(client, "InventoryService/RecordTrafficSamples", request, session=session)
        assert status.code == OK, status


class Mutator(threading.Thread):
    """Creates API tokens and custom roles and starts jobs until the server dies; keeps what was acknowledged."""

    def __init__(self, server, session, tag):
        super().__init__(daemon=True)
        self.server, self.session, self.tag = server, session, tag
        self.tokens, self.roles, self.jobs = set(), set(), set()
        self.stop = threading.Event()
        self.unexpected = []

    def run(self):
        rng = random.Random(self.tag)
        n = 0
        try:
            client = AkrpClient.connect(self.server.socket, timeout=30)
            while not self.stop.is_set():
                n += 1
                pick = rng.random()
                if pick < 0.15:
                    status, added = call(client, "TokenService/AddApiToken",
                                         token_pb2.AddApiTokenRequest(token_utility="CICD"),
                                         token_pb2.AddApiTokenResponse, self.session)
                    if status.code == OK:
                        self.tokens.add(added.api_token_list[0].id)
                elif pick < 0.95:
                    name = f"R_{self.tag}_{n}"
                    status, _ = call(client, "RoleService/CreateCustomRole",
                                     role_pb2.CreateCustomRoleRequest(role_name=name, base_role="GUEST"),
                                     session=self.session)
                    if status.code == OK:
                        self.roles.add(name)
                else:
                    status, started = call(client, "InventoryService/ApplyAccessType",
                                           inventory_pb2.ApplyAccessTypeRequest(),
                                           inventory_pb2.ApplyAccessTypeResponse, self.session)
                    if status.code == OK:
                        self.jobs.add(started.job_id)
                # RESOURCE_EXHAUSTED only when the token cap (10,000 per user) is reached on long runs.
                if status.code not in (OK, UNAVAILABLE) and not (pick < 0.15 and status.code == 8):
                    self.unexpected.append(status)
        except (ProtocolError, OSError):
            return  # the server died mid-call: that call was never acknowledged


def check_database(path, tokens, roles):
    """Direct checks on the file: integrity, every acknowledged row present once, audit rows one to one."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        stored_tokens = [row[0] for row in db.execute("SELECT id FROM api_tokens")]
        stored_roles = [row[0] for row in db.execute("SELECT name FROM custom_roles")]
        assert len(stored_tokens) == len(set(stored_tokens)) and len(stored_roles) == len(set(stored_roles))
        assert tokens <= set(stored_tokens), f"{len(tokens - set(stored_tokens))} acknowledged tokens lost"
        assert roles <= set(stored_roles), f"{len(roles - set(stored_roles))} acknowledged roles lost"
        token_audit = [row[0] for row in db.execute("SELECT target FROM audit_log WHERE operation = 'AddApiToken'")]
        role_audit = [row[0] for row in db.execute("SELECT target FROM audit_log WHERE operation = 'CreateCustomRole'")]
        # Nothing half-applied: each stored row has exactly one audit row and each audit row its stored row.
        assert sorted(token_audit) == sorted(f"api-token:{i}" for i in stored_tokens)
        assert sorted(role_audit) == sorted(f"role:{name}" for name in stored_roles)
        return len(stored_tokens), len(stored_roles), len(token_audit) + len(role_audit)
    finally:
        db.close()


def wait_for_jobs(client, session, job_ids, timeout=120):
    deadline = time.time() + timeout
    pending = set(job_ids)
    while pending and time.time() < deadline:
        for job_id in list(pending):
            status, answer = call(client, "JobService/GetJob", job_pb2.GetJobRequest(job_id=job_id),
                                  job_pb2.GetJobResponse, session)
            assert status.code == OK, status
            assert answer.job.state != "FAILED", answer.job
            if answer.job.state == "SUCCEEDED":
                pending.discard(job_id)
        time.sleep(0.05)
    assert not pending, f"jobs {sorted(pending)} never finished"


def test_acknowledged_mutations_survive_repeated_kill_9():
    args = ["--max-api-tokens", "10000", "--job-lease", "1"]
    server = Server(args)
    client, session = signup(server)
    seed_inventory(client, session)
    client.close()
    rng = random.Random(99)
    tokens, roles, jobs = set(), set(), set()
    started = time.time()
    for kill in range(KILLS):
        if kill:
            server = Server(args, data_dir=server.dir)  # the session token outlives restarts
        mutators = [Mutator(server, session, f"{kill}_{i}") for i in range(4)]
        for mutator in mutators:
            mutator.start()
        time.sleep(rng.uniform(0.15, 0.8))
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        for mutator in mutators:
            mutator.stop.set()
            mutator.join(timeout=30)
            assert mutator.unexpected == [], mutator.unexpected[:3]
            tokens |= mutator.tokens
            roles |= mutator.roles
            jobs |= mutator.jobs
    assert len(tokens) + len(roles) > KILLS * 5, "too few mutations were acknowledged to mean anything"
    final = Server(args, data_dir=server.dir)
    client = AkrpClient.connect(final.socket, timeout=60)
    wait_for_jobs(client, session, jobs)  # interrupted jobs are picked up again after their lease
    client.close()
    assert final.terminate() == 0
    stored_tokens, stored_roles, audit_rows = check_database(os.path.join(server.dir, "akto-access.sqlite"), tokens, roles)
    report("kill-9", kills=KILLS, seconds=round(time.time() - started, 1), acknowledged=len(tokens) + len(roles),
           stored=stored_tokens + stored_roles, audit_rows=audit_rows, jobs_completed=len(jobs),
           integrity_check="ok")


def can_mount_tmpfs():
    probe = tempfile.mkdtemp(prefix="akto-mount-")
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe], capture_output=True)
        if mounted.returncode != 0:
            return False
        subprocess.run(["umount", probe], check=True)
        return True
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs permission to mount a small tmpfs (run as root)")
def test_a_full_disk_gives_unavailable_and_writes_resume_when_space_returns():
    folder = tempfile.mkdtemp(prefix="akto-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", folder], check=True)
    try:
        server = Server(["--max-api-tokens", "10000"], data_dir=folder)
        client, session = signup(server)
        acknowledged = set()

        def add_token():
            status, added = call(client, "TokenService/AddApiToken", token_pb2.AddApiTokenRequest(token_utility="CICD"),
                                 token_pb2.AddApiTokenResponse, session)
            if status.code == OK:
                acknowledged.add(added.api_token_list[0].id)
            return status

        assert add_token().code == OK
        filler = os.path.join(folder, "filler")
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)  # until ENOSPC
        codes = []
        for _ in range(3000):
            status = add_token()
            codes.append(status.code)
            if status.code == UNAVAILABLE:
                assert "unavailable" in status.message.lower()
                break
        assert codes[-1] == UNAVAILABLE, f"writes never failed with the disk full: {set(codes)}"
        assert set(codes) <= {OK, UNAVAILABLE}
        # Reads still work, and the server is alive.
        status, _ = call(client, "SessionService/Me", session_pb2.MeRequest(), session=session)
        assert status.code == OK
        os.remove(filler)
        assert add_token().code == OK, "writes did not resume once space returned"
        client.close()
        assert server.terminate() == 0
        tokens, _, _ = check_database(os.path.join(folder, "akto-access.sqlite"), acknowledged, set())
        report("disk-full", writes_before_full=len(codes) - 1, first_error="UNAVAILABLE", resumed=True,
               tokens_stored=tokens, integrity_check="ok")
    finally:
        subprocess.run(["umount", "-l", folder])


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs permission to mount a small tmpfs (run as root)")
def test_a_read_only_data_dir_is_refused_clearly_and_loses_nothing():
    """The data dir's file system goes read-only (a remount after an error, a full-disk protection): the server
    refuses to start with a clear message and a non-zero exit, the database is untouched, and once the file
    system is writable again the server starts with every row."""
    folder = tempfile.mkdtemp(prefix="akto-ro-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", folder], check=True)
    try:
        server = Server(["--max-api-tokens", "100"], data_dir=folder)
        client, session = signup(server)
        acknowledged = set()
        for _ in range(20):
            status, added = call(client, "TokenService/AddApiToken", token_pb2.AddApiTokenRequest(token_utility="CICD"),
                                 token_pb2.AddApiTokenResponse, session)
            assert status.code == OK
            acknowledged.add(added.api_token_list[0].id)
        client.close()
        assert server.terminate() == 0
        server.log.close()  # nothing may hold a file open for writing on a file system being made read-only
        before = {name: open(os.path.join(folder, name), "rb").read() for name in os.listdir(folder)
                  if name.startswith("akto-access.sqlite")}

        subprocess.run(["mount", "-o", "remount,ro", folder], check=True)
        started = subprocess.run(
            [binary(), "serve", "--data-dir", folder, "--log-level", "warning", "--http-address", "off"],
            capture_output=True, text=True, timeout=60)
        assert started.returncode != 0
        message = started.stderr + started.stdout
        assert "not writable" in message and "read-only file system" in message.lower(), message
        after = {name: open(os.path.join(folder, name), "rb").read() for name in os.listdir(folder)
                 if name.startswith("akto-access.sqlite")}
        assert after == before, "a refused start changed the database files"

        subprocess.run(["mount", "-o", "remount,rw", folder], check=True)
        server = Server(data_dir=folder)
        client = AkrpClient.connect(server.socket)
        status, login = call(client, "SessionService/Login", session_pb2.LoginRequest(
            email="admin@example.com", password="Secret123-horse"), session_pb2.LoginResponse)
        assert status.code == OK
        client.close()
        assert server.terminate() == 0
        tokens, _, _ = check_database(os.path.join(folder, "akto-access.sqlite"), acknowledged, set())
        report("read-only-data-dir", refused_start=True, exit_code=started.returncode,
               message=next(line for line in message.splitlines() if "not writable" in line)[:160], files_unchanged=True, tokens_after_recovery=tokens)
    finally:
        subprocess.run(["umount", "-l", folder])
