"""Hostile clients over the real socket (<doc:Hardening>).

Each abuse runs while a well-behaved client keeps calling on its own connection; the server must answer every
abuse with an error response, a GoAway or a close within its timeout, never crash, end with its RSS near the
baseline, and the good client must see no errors. The quick sizes run in the test suite; `tools/harden` runs
them at full size (AKTO_HARDEN_FRAMES=10000 ...) and records the figures in RELIABILITY.md.
"""
import json
import os
import random
import socket
import struct
import threading
import time

from akrp_client import PREFACE, AkrpClient, ProtocolError, builtin_pb2, envelope_pb2
from akto.access.v1 import session_pb2
from conftest import Server

FRAMES = int(os.environ.get("AKTO_HARDEN_FRAMES", "1500"))
LORIS = int(os.environ.get("AKTO_HARDEN_LORIS", "100"))
CYCLES = int(os.environ.get("AKTO_HARDEN_CYCLES", "300"))
REPORT = os.environ.get("AKTO_HARDEN_REPORT")  # a JSON-lines file the figures are appended to
MAX_FRAME = 64 * 1024
HEALTH = "/akto.rpc.v1.Health/Check"
ME = "/akto.access.v1.SessionService/Me"
INVALID_ARGUMENT, RESOURCE_EXHAUSTED, CANCELLED, OK = 3, 8, 1, 0


def report(name, **figures):
    if REPORT:
        with open(REPORT, "a") as out:
            out.write(json.dumps({"case": name, **figures}) + "\n")


def rss_kib(server):
    with open(f"/proc/{server.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class GoodClient(threading.Thread):
    """Calls Health and an authenticated Me in a loop on its own connection and counts failures."""

    def __init__(self, server, session):
        super().__init__(daemon=True)
        self.server, self.session = server, session
        self.stop = threading.Event()
        self.calls, self.errors = 0, []

    def run(self):
        client = AkrpClient.connect(self.server.socket, timeout=30)
        try:
            while not self.stop.is_set():
                for method, metadata in ((HEALTH, None), (ME, self.session)):
                    status, _ = client.call(method, None, metadata=metadata)
                    self.calls += 1
                    if status.code != OK:
                        self.errors.append((method, status.code, status.message))
                time.sleep(0.002)
        except Exception as error:  # noqa: BLE001 - any failure of the good client fails the test
            self.errors.append(("connection", repr(error)))
        finally:
            client.close()


def start(extra_args=()):
    server = Server(extra_args=["--max-frame-size", str(MAX_FRAME), "--idle-timeout", "2", *extra_args])
    client = AkrpClient.connect(server.socket)
    status, answer = client.call(
        "/akto.access.v1.SessionService/Signup",
        session_pb2.SignupRequest(email="good@example.com", password="Secret123-horse"), session_pb2.SignupResponse)
    assert status.code == OK, status
    client.close()
    session = {"authorization": "Bearer " + answer.session_token}
    good = GoodClient(server, session)
    good.start()
    time.sleep(0.3)
    return server, good


def finish(server, good, baseline_kib):
    time.sleep(2.5)  # past the idle timeout: every abusive connection is gone
    good.stop.set()
    good.join(timeout=30)
    assert good.errors == [], good.errors[:5]
    assert good.calls > 0
    assert server.process.poll() is None, "the server died:\n" + server.output()[-3000:]
    after = rss_kib(server)
    # RSS back near the baseline: allocator caches may keep a few MiB, nothing grows with the abuse count.
    assert after < baseline_kib + 24 * 1024, (baseline_kib, after)
    assert server.terminate() == 0
    return after


def outcome(sock, deadline_s=5.0):
    """How the server ended an abusive exchange: 'goaway', 'error-response', 'ok-response' or 'closed'."""
    sock.settimeout(deadline_s)
    buffer = b""
    kinds = []
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buffer += chunk
            while len(buffer) >= 4:
                (length,) = struct.unpack(">I", buffer[:4])
                if len(buffer) < 4 + length:
                    break
                frame = envelope_pb2.Frame()
                frame.ParseFromString(buffer[4:4 + length])
                buffer = buffer[4 + length:]
                kind = frame.WhichOneof("kind")
                if kind == "go_away":
                    kinds.append("goaway")
                elif kind == "response":
                    kinds.append("ok-response" if frame.response.status.code == OK else "error-response")
            if kinds and kinds[-1] in ("error-response", "ok-response") and not buffer:
                return kinds[-1]
    except socket.timeout:
        raise AssertionError(f"no answer within {deadline_s} s (saw {kinds})")
    except ConnectionResetError:
        pass
    return kinds[-1] if kinds else "closed"


def request_frame(call_id, method=HEALTH, payload=b"", metadata=None):
    frame = envelope_pb2.Frame()
    frame.request.call_id = call_id
    frame.request.method = method
    frame.request.payload = payload
    for key, value in (metadata or {}).items():
        entry = frame.request.metadata.add()
        entry.key, entry.value = key, value
    body = frame.SerializeToString()
    return struct.pack(">I", len(body)) + body


def abusive_bytes(rng, kind):
    """One abusive exchange (after the preface unless the kind says otherwise)."""
    if kind == "zero-length":
        return PREFACE + struct.pack(">I", 0)
    if kind == "max-plus-one":
        return PREFACE + struct.pack(">I", MAX_FRAME + 1) + b"\x00" * 16
    if kind == "four-gigabytes":
        return PREFACE + struct.pack(">I", 2**32 - 1)
    if kind == "truncated":
        return PREFACE + struct.pack(">I", 100) + os.urandom(rng.randint(0, 99))
    if kind == "garbage-body":
        body = os.urandom(rng.randint(1, 200))
        return PREFACE + struct.pack(">I", len(body)) + body
    if kind == "garbage-payload":
        return PREFACE + request_frame(rng.randint(1, 2**32 - 1), method=rng.choice(
            [HEALTH, ME, "/akto.access.v1.RoleService/UpdateCustomRole", "/akto.access.v1.TeamService/InviteUsers"]),
            payload=os.urandom(rng.randint(1, 300)))
    if kind == "reused-call-id":
        return PREFACE + request_frame(7) + request_frame(7) + request_frame(7)
    if kind == "client-response":
        frame = envelope_pb2.Frame()
        frame.response.call_id = 1
        body = frame.SerializeToString()
        return PREFACE + struct.pack(">I", len(body)) + body
    if kind == "wrong-preface":
        return os.urandom(8) + request_frame(1)
    if kind == "call-id-zero":
        return PREFACE + request_frame(0)
    raise ValueError(kind)


KINDS = ["zero-length", "max-plus-one", "four-gigabytes", "truncated", "garbage-body", "garbage-payload",
         "reused-call-id", "client-response", "wrong-preface", "call-id-zero"]
# What each abuse may end in: a protocol error is a GoAway (then close); a bad payload is an error response on
# a connection that stays usable; a truncated frame is cut off when the client closes or the idle timeout ends it.
ALLOWED = {
    "zero-length": {"goaway"}, "max-plus-one": {"goaway"}, "four-gigabytes": {"goaway"}, "truncated": {"closed"},
    "garbage-body": {"goaway"}, "garbage-payload": {"error-response", "ok-response"}, "reused-call-id": {"goaway", "ok-response"},
    "client-response": {"goaway"}, "wrong-preface": {"goaway"}, "call-id-zero": {"goaway"},
}


def test_malformed_frames_each_end_in_an_error_goaway_or_close():
    server, good = start()
    baseline = rss_kib(server)
    rng = random.Random(9)
    seen = {kind: 0 for kind in KINDS}
    started = time.time()
    for index in range(FRAMES):
        kind = KINDS[index % len(KINDS)] if index < len(KINDS) else rng.choice(KINDS)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(server.socket)
        try:
            sock.sendall(abusive_bytes(rng, kind))
            if kind == "truncated":
                sock.shutdown(socket.SHUT_WR)  # the server sees EOF mid-frame
            result = outcome(sock)
        except (BrokenPipeError, ConnectionResetError):
            result = "closed"  # the server had already closed after its GoAway
        finally:
            sock.close()
        assert result in ALLOWED[kind] | {"closed"}, (kind, result)
        seen[kind] += 1
    elapsed = time.time() - started
    after = finish(server, good, baseline)
    report("malformed-frames", frames=FRAMES, seconds=round(elapsed, 1), kinds=seen, good_calls=good.calls,
           rss_baseline_kib=baseline, rss_after_kib=after)


def test_slow_loris_connections_are_cut_off_and_do_not_starve_others():
    server, good = start()
    baseline = rss_kib(server)
    loris = []
    for _ in range(LORIS):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(server.socket)
        sock.sendall(PREFACE + struct.pack(">I", 1000))  # promises a 1000-byte frame, then drips
        loris.append(sock)
    closed_at = {}
    started = time.time()
    while len(closed_at) < len(loris) and time.time() - started < 20:
        for index, sock in enumerate(loris):
            if index in closed_at:
                continue
            try:
                sock.send(b"\x0a")
            except (BrokenPipeError, ConnectionResetError):
                closed_at[index] = time.time() - started
        time.sleep(0.2)
    for sock in loris:
        sock.close()
    assert len(closed_at) == len(loris), f"{len(loris) - len(closed_at)} dripping connections were never cut off"
    # The idle timeout (2 s here) counts from the last complete frame, so dripping bytes does not keep one alive.
    assert max(closed_at.values()) < 2 + 5
    after = finish(server, good, baseline)
    report("slow-loris", connections=LORIS, cut_off_within_s=round(max(closed_at.values()), 2),
           good_calls=good.calls, rss_baseline_kib=baseline, rss_after_kib=after)


def test_connection_and_in_flight_caps_refuse_cleanly():
    server, good = start(["--max-connections", "40", "--max-concurrent-calls", "4"])
    baseline = rss_kib(server)
    held = [AkrpClient.connect(server.socket) for _ in range(38)]  # + the good client's = 39 of 40
    admitted, refused = 0, 0
    extras = []
    for _ in range(20):
        extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        extra.connect(server.socket)
        try:
            extra.sendall(PREFACE + request_frame(1))
            result = outcome(extra)
        except (BrokenPipeError, ConnectionResetError):
            result = "closed"  # refused and closed before our bytes were all written
        if result == "ok-response":
            admitted += 1
            extras.append(extra)  # keep it open: it holds the last slot
        else:
            assert result in ("goaway", "closed"), result
            refused += 1
            extra.close()
    for client in held:
        client.close()
    for extra in extras:
        extra.close()
    assert (admitted, refused) == (1, 19)
    # In-flight cap: 200 pipelined calls on one connection: each gets exactly one answer, OK or RESOURCE_EXHAUSTED.
    time.sleep(0.3)
    client = AkrpClient.connect(server.socket)
    client.sock.sendall(b"".join(request_frame(call_id) for call_id in range(1, 201)))
    answers = {}
    while len(answers) < 200:
        frame = client.read_frame()
        assert frame.WhichOneof("kind") == "response", frame
        assert frame.response.call_id not in answers
        answers[frame.response.call_id] = frame.response.status.code
    client.close()
    assert set(answers.values()) <= {OK, RESOURCE_EXHAUSTED}
    after = finish(server, good, baseline)
    report("caps", connections_refused=refused, pipelined=200,
           resource_exhausted=sum(1 for code in answers.values() if code == RESOURCE_EXHAUSTED),
           good_calls=good.calls, rss_baseline_kib=baseline, rss_after_kib=after)


def test_start_cancel_cycles_answer_each_call_exactly_once():
    server, good = start()
    baseline = rss_kib(server)
    client = AkrpClient.connect(server.socket)
    signup = AkrpClient.connect(server.socket)
    status, answer = signup.call(
        "/akto.access.v1.SessionService/Login",
        session_pb2.LoginRequest(email="good@example.com", password="Secret123-horse"), session_pb2.LoginResponse)
    assert status.code == OK
    signup.close()
    metadata = {"authorization": "Bearer " + answer.session_token}
    outcomes = {OK: 0, CANCELLED: 0}
    for call_id in range(1, CYCLES + 1):
        cancel = envelope_pb2.Frame()
        cancel.cancel.call_id = call_id
        body = cancel.SerializeToString()
        if call_id % 2:
            # Request and Cancel in one write: the Cancel usually arrives before the handler runs.
            client.sock.sendall(request_frame(call_id, method=ME, metadata=metadata) + struct.pack(">I", len(body)) + body)
        else:
            # Cancel a moment later: it races the handler, and may arrive after the call has finished.
            client.sock.sendall(request_frame(call_id, method=ME, metadata=metadata))
            time.sleep(random.random() / 1000)
            client.sock.sendall(struct.pack(">I", len(body)) + body)
        frame = client.read_frame()
        assert frame.WhichOneof("kind") == "response" and frame.response.call_id == call_id, frame
        assert frame.response.status.code in (OK, CANCELLED), frame.response.status
        outcomes[frame.response.status.code] += 1
    # Nothing more arrives for any of those calls: a ping's pong is the next frame.
    ping = envelope_pb2.Frame()
    ping.ping.nonce = 42
    client.send_frame(ping)
    frame = client.read_frame()
    assert frame.WhichOneof("kind") == "pong" and frame.pong.nonce == 42, frame
    client.close()
    after = finish(server, good, baseline)
    report("start-cancel", cycles=CYCLES, answered_ok=outcomes[OK], answered_cancelled=outcomes[CANCELLED],
           good_calls=good.calls, rss_baseline_kib=baseline, rss_after_kib=after)
