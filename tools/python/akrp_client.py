"""A reference AKRP v1 client in Python, written from DESIGN.md alone.

It checks the Swift server from outside Swift: the envelope is plain protobuf (`proto/akto/rpc/v1/envelope.proto`),
compiled with `protoc --python_out` into ./gen (see `generate()`), so any language with a protobuf library can
speak the protocol the same way.

    client = AkrpClient.connect("./var/akto-access.sock")
    status, payload = client.call("/akto.rpc.v1.Health/Check", HealthCheckRequest())
"""
import os
import socket
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GEN = os.path.join(HERE, "gen")
PREFACE = b"AKRP\x00\x01\x00\x00"


def generate():
    """Compiles every .proto of the contract into ./gen with protoc (idempotent) and puts it on sys.path."""
    proto_dir = os.path.join(ROOT, "proto")
    protos = []
    for folder, _, files in os.walk(proto_dir):
        protos += [os.path.relpath(os.path.join(folder, f), proto_dir) for f in files if f.endswith(".proto")]
    os.makedirs(GEN, exist_ok=True)
    subprocess.run(["protoc", f"-I{proto_dir}", f"--python_out={GEN}", *sorted(protos)], check=True)
    if GEN not in sys.path:
        sys.path.insert(0, GEN)


generate()
from akto.rpc.v1 import builtin_pb2, envelope_pb2  # noqa: E402  (generated just above)


class ProtocolError(Exception):
    """The server ended the connection, with the GoAway it sent if any."""

    def __init__(self, message, go_away=None):
        super().__init__(message)
        self.go_away = go_away


class AkrpClient:
    """One connection; calls may be pipelined with send_request() and read back with read_frame()."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""
        self.next_id = 0

    @classmethod
    def connect(cls, path, timeout=10.0, preface=PREFACE):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(path)
        if preface:
            sock.sendall(preface)
        return cls(sock)

    def close(self):
        self.sock.close()

    def send_frame(self, frame):
        body = frame.SerializeToString()
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def send_request(self, method, message=None, call_id=None, metadata=None, timeout_ms=0, payload=None):
        """Sends a Request and returns its call id."""
        if call_id is None:
            self.next_id += 1
            call_id = self.next_id
        frame = envelope_pb2.Frame()
        frame.request.call_id = call_id
        frame.request.method = method
        frame.request.timeout_ms = timeout_ms
        frame.request.payload = payload if payload is not None else (message.SerializeToString() if message else b"")
        for key, value in (metadata or {}).items():
            entry = frame.request.metadata.add()
            entry.key, entry.value = key, value
        self.send_frame(frame)
        return call_id

    def _read_exact(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProtocolError("connection closed by the server")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read_frame(self):
        (length,) = struct.unpack(">I", self._read_exact(4))
        frame = envelope_pb2.Frame()
        frame.ParseFromString(self._read_exact(length))
        return frame

    def read_until_closed(self):
        """Every frame the server sends until it closes the connection."""
        frames = []
        try:
            while True:
                frames.append(self.read_frame())
        except (ProtocolError, ConnectionResetError):
            # A reset only means the server closed with our unread requests still queued; what it sent
            # before that has been read.
            return frames

    def call(self, method, message=None, response_type=None, **kwargs):
        """One call; returns (status, decoded response or raw payload). Raises ProtocolError on GoAway."""
        call_id = self.send_request(method, message, **kwargs)
        while True:
            frame = self.read_frame()
            kind = frame.WhichOneof("kind")
            if kind == "go_away":
                raise ProtocolError(frame.go_away.status.message, frame.go_away)
            if kind == "response" and frame.response.call_id == call_id:
                payload = frame.response.payload
                if response_type is not None and frame.response.status.code == 0:
                    decoded = response_type()
                    decoded.ParseFromString(payload)
                    return frame.response.status, decoded
                return frame.response.status, payload

    def health(self):
        return self.call("/akto.rpc.v1.Health/Check", builtin_pb2.HealthCheckRequest(), builtin_pb2.HealthCheckResponse)


def main():
    """`python3 akrp_client.py SOCKET`: prints the server's health and methods."""
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "var", "akto-access.sock")
    client = AkrpClient.connect(path)
    status, health = client.health()
    print("health:", status.code, health.status, health.version)
    status, methods = client.call(
        "/akto.rpc.v1.Reflection/ListMethods", builtin_pb2.ListMethodsRequest(), builtin_pb2.ListMethodsResponse)
    for method in methods.methods:
        print(method.name, method.request_type, "->", method.response_type)
    client.close()


if __name__ == "__main__":
    main()
