"""The Swift server, driven by the independent Python client over a real Unix socket."""
import os
import random
import struct
import threading

from akrp_client import AkrpClient, ProtocolError, builtin_pb2, envelope_pb2
from conftest import Server

HEALTH = "/akto.rpc.v1.Health/Check"
LIST = "/akto.rpc.v1.Reflection/ListMethods"
INVALID_ARGUMENT, UNIMPLEMENTED, RESOURCE_EXHAUSTED, UNAVAILABLE = 3, 12, 8, 14


def assert_still_serving(server):
    client = AkrpClient.connect(server.socket)
    status, health = client.health()
    assert status.code == 0 and health.status == "SERVING"
    client.close()


def go_away_after(server, data, preface=True):
    client = AkrpClient.connect(server.socket, preface=b"AKRP\x00\x01\x00\x00" if preface else b"")
    client.sock.sendall(data)
    frames = client.read_until_closed()
    client.close()
    assert_still_serving(server)
    kinds = [f.WhichOneof("kind") for f in frames]
    assert kinds and kinds[-1] == "go_away", kinds
    return frames[-1].go_away.status


def test_health_and_reflection(server):
    client = AkrpClient.connect(server.socket)
    status, health = client.health()
    assert status.code == 0
    assert health.status == "SERVING" and health.version
    status, methods = client.call(LIST, builtin_pb2.ListMethodsRequest(), builtin_pb2.ListMethodsResponse)
    names = {m.name: m for m in methods.methods}
    assert names[HEALTH].request_type == "akto.rpc.v1.HealthCheckRequest"
    assert names[LIST].response_type == "akto.rpc.v1.ListMethodsResponse"
    client.close()


def test_request_id_metadata_is_echoed(server):
    client = AkrpClient.connect(server.socket)
    client.send_request(HEALTH, builtin_pb2.HealthCheckRequest(), metadata={"x-request-id": "py-123"})
    frame = client.read_frame()
    assert {m.key: m.value for m in frame.response.metadata}["x-request-id"] == "py-123"
    client.close()


def test_unknown_and_unimplemented_methods(server):
    client = AkrpClient.connect(server.socket)
    status, _ = client.call("/no.such.Service/Method")
    assert status.code == UNIMPLEMENTED and "unknown method" in status.message
    status, _ = client.call("/akto.access.v1.RoleService/CreateCustomRole")
    assert status.code == 16  # implemented, so it wants credentials first (UNAUTHENTICATED)
    client.close()


def test_undecodable_payload_is_invalid_argument(server):
    client = AkrpClient.connect(server.socket)
    status, _ = client.call(HEALTH, payload=b"\x0a\x02\xff\x01")  # service = invalid UTF-8
    assert status.code == INVALID_ARGUMENT
    assert [(v.field, v.description) for v in status.violations] == [("service", "is not valid UTF-8")]
    client.close()


def test_thousand_pipelined_calls_come_back_with_their_ids():
    server = Server(["--max-concurrent-calls", "1000"])
    client = AkrpClient.connect(server.socket)
    sent = set()
    for i in range(1000):
        sent.add(client.send_request(HEALTH, builtin_pb2.HealthCheckRequest(service=f"s{i}"), call_id=i + 1))
    received = []
    while len(received) < 1000:
        frame = client.read_frame()
        assert frame.WhichOneof("kind") == "response"
        assert frame.response.status.code == 0, frame.response.status
        received.append(frame.response.call_id)
    assert sorted(received) == sorted(sent)  # every call answered exactly once
    client.close()
    assert server.terminate() == 0


def test_calls_past_the_connection_cap_get_resource_exhausted(server):
    client = AkrpClient.connect(server.socket)
    for i in range(400):
        client.send_request(HEALTH, builtin_pb2.HealthCheckRequest(), call_id=i + 1)
    codes = [client.read_frame().response.status.code for _ in range(400)]
    assert set(codes) <= {0, RESOURCE_EXHAUSTED}
    client.close()


def test_ping_gets_pong_with_the_same_nonce(server):
    client = AkrpClient.connect(server.socket)
    frame = envelope_pb2.Frame()
    frame.ping.nonce = 0xFFFFFFFFFFFF
    client.send_frame(frame)
    reply = client.read_frame()
    assert reply.WhichOneof("kind") == "pong" and reply.pong.nonce == 0xFFFFFFFFFFFF
    client.close()


def test_wrong_preface(server):
    status = go_away_after(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", preface=False)
    assert status.code == INVALID_ARGUMENT


def test_two_gigabyte_length_header(server):
    status = go_away_after(server, struct.pack(">I", 2 ** 31))
    assert status.code == RESOURCE_EXHAUSTED


def test_truncated_frame_then_close(server):
    client = AkrpClient.connect(server.socket)
    frame = envelope_pb2.Frame()
    frame.request.call_id = 1
    frame.request.method = HEALTH
    body = frame.SerializeToString()
    client.sock.sendall(struct.pack(">I", len(body)) + body[:3])
    client.close()
    assert_still_serving(server)


def test_random_garbage(server):
    rng = random.Random(1234)
    for _ in range(25):
        garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        status = go_away_after(server, struct.pack(">I", len(garbage)) + garbage)
        assert status.code in (INVALID_ARGUMENT, RESOURCE_EXHAUSTED)


def test_response_frame_from_a_client_is_a_protocol_error(server):
    frame = envelope_pb2.Frame()
    frame.response.call_id = 1
    body = frame.SerializeToString()
    status = go_away_after(server, struct.pack(">I", len(body)) + body)
    assert status.code == INVALID_ARGUMENT


def test_socket_mode_is_0660(server):
    assert os.stat(server.socket).st_mode & 0o777 == 0o660


def test_sigterm_answers_every_call_then_exits_zero_and_removes_the_socket():
    """SIGTERM while calls are in flight: GoAway names the last call the server took; every call up to it gets
    exactly one Response; the process exits 0 and removes its socket. Calls after last_call_id were never
    started, and the client may retry them elsewhere (as with HTTP/2's GOAWAY)."""
    server = Server()
    clients = [AkrpClient.connect(server.socket) for _ in range(4)]
    received = [[] for _ in clients]
    readers = [threading.Thread(target=lambda i=i: received[i].extend(clients[i].read_until_closed()))
               for i in range(len(clients))]
    for reader in readers:
        reader.start()
    for client in clients:
        for _ in range(300):
            client.send_request(HEALTH, builtin_pb2.HealthCheckRequest())
    code = server.terminate()
    for reader in readers:
        reader.join(timeout=30)
    assert code == 0, server.output()
    assert not os.path.exists(server.socket)
    for client, frames in zip(clients, received):
        client.close()
        go_aways = [f.go_away for f in frames if f.WhichOneof("kind") == "go_away"]
        responses = [f.response for f in frames if f.WhichOneof("kind") == "response"]
        answered = [r.call_id for r in responses]
        assert len(answered) == len(set(answered)), "a call was answered twice"
        assert all(r.status.code in (0, RESOURCE_EXHAUSTED, UNAVAILABLE) for r in responses)
        if go_aways:
            last = go_aways[0].last_call_id
            assert go_aways[0].status.code == UNAVAILABLE
            assert set(range(1, last + 1)) <= set(answered), "a call the server took got no response"
        else:
            # The server answered everything before it began draining.
            assert sorted(answered) == list(range(1, 301))


def test_a_slow_reader_still_gets_its_responses_and_the_go_away():
    """The server flushes what it wrote before closing (bounded by the drain timeout), so a client that is
    slow to read loses nothing."""
    import signal
    import time
    server = Server()
    client = AkrpClient.connect(server.socket)
    for _ in range(300):
        client.send_request(HEALTH, builtin_pb2.HealthCheckRequest())
    time.sleep(0.2)
    server.process.send_signal(signal.SIGTERM)
    time.sleep(1.0)  # not reading while the server drains
    frames = client.read_until_closed()
    client.close()
    assert server.process.wait(timeout=30) == 0
    go_aways = [f.go_away for f in frames if f.WhichOneof("kind") == "go_away"]
    assert len(go_aways) == 1
    answered = {f.response.call_id for f in frames if f.WhichOneof("kind") == "response"}
    assert set(range(1, go_aways[0].last_call_id + 1)) <= answered
