"""Durable jobs of the real binary: kill -9 while ApplyAccessType runs, restart, same result as an
uninterrupted run."""
import signal
import time

from akrp_client import AkrpClient
from akto.access.v1 import account_pb2, inventory_pb2, job_pb2, session_pb2
from conftest import Server

PREFIX = "/akto.access.v1."


def setup(server, components):
    client = AkrpClient.connect(server.socket, timeout=120)
    status, signup = client.call(PREFIX + "SessionService/Signup",
                                 session_pb2.SignupRequest(email="admin@example.com", password="Secret123-horse"),
                                 session_pb2.SignupResponse)
    assert status.code == 0
    session = {"authorization": "Bearer " + signup.session_token}
    status, created = client.call(PREFIX + "InventoryService/CreateCollection",
                                  inventory_pb2.CreateCollectionRequest(collection_name="big"),
                                  inventory_pb2.CreateCollectionResponse, metadata=session)
    assert status.code == 0
    collection = created.api_collection.id
    for start in range(0, components, 1000):
        request = inventory_pb2.RecordTrafficSamplesRequest()
        for i in range(start, min(start + 1000, components)):
            sample = request.samples.add()
            sample.api_collection_id = collection
            sample.method = "GET"
            sample.url = f"/item/{i}"
            sample.source_ip = ("10.0.%d.%d" if i % 3 else "8.8.%d.%d") % (i // 256 % 256, i % 256)
            sample.destination_ip = "10.1.1.1"
            sample.direction = "OUTGOING" if i % 5 == 0 else "INCOMING"
        status, _ = client.call(PREFIX + "InventoryService/RecordTrafficSamples", request, metadata=session)
        assert status.code == 0, status
    status, _ = client.call(PREFIX + "AccountService/UpdatePrivateCidrIps",
                            account_pb2.UpdatePrivateCidrIpsRequest(private_cidr_list=["10.0.0.0/8"]), metadata=session)
    assert status.code == 0
    return client, session


def wait_for(client, session, job_id, states, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, answer = client.call(PREFIX + "JobService/GetJob", job_pb2.GetJobRequest(job_id=job_id),
                                     job_pb2.GetJobResponse, metadata=session)
        assert status.code == 0, status
        if answer.job.state in states:
            return answer.job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached {states}")


def access_types(client, session):
    status, answer = client.call(PREFIX + "InventoryService/GetCollections",
                                 inventory_pb2.GetCollectionsRequest(include_components=True),
                                 inventory_pb2.GetCollectionsResponse, metadata=session)
    assert status.code == 0
    return {c.url: tuple(c.access_types) for collection in answer.api_collections for c in collection.components}


def test_kill_9_during_apply_access_type_then_restart_gives_the_uninterrupted_result():
    components = 20000
    # The uninterrupted run.
    reference = Server(["--job-lease", "2"])
    client, session = setup(reference, components)
    status, started = client.call(PREFIX + "InventoryService/ApplyAccessType", inventory_pb2.ApplyAccessTypeRequest(),
                                  inventory_pb2.ApplyAccessTypeResponse, metadata=session)
    assert status.code == 0
    assert wait_for(client, session, started.job_id, {"SUCCEEDED", "FAILED"}).state == "SUCCEEDED"
    expected = access_types(client, session)
    client.close()
    assert reference.terminate() == 0
    assert len(expected) == components and len(set(expected.values())) == 3

    # The same work, killed while the job runs.
    server = Server(["--job-lease", "2"])
    client, session = setup(server, components)
    status, started = client.call(PREFIX + "InventoryService/ApplyAccessType", inventory_pb2.ApplyAccessTypeRequest(),
                                  inventory_pb2.ApplyAccessTypeResponse, metadata=session)
    assert status.code == 0
    running = wait_for(client, session, started.job_id, {"RUNNING", "SUCCEEDED"})
    assert running.state == "RUNNING", "the job finished before it could be interrupted; seed more components"
    client.close()
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)

    restarted = Server(["--job-lease", "2"], data_dir=server.dir)
    client = AkrpClient.connect(restarted.socket, timeout=120)
    status, login = client.call(PREFIX + "SessionService/Login",
                                session_pb2.LoginRequest(email="admin@example.com", password="Secret123-horse"),
                                session_pb2.LoginResponse)
    session = {"authorization": "Bearer " + login.session_token}
    job = wait_for(client, session, started.job_id, {"SUCCEEDED", "FAILED"})
    assert job.state == "SUCCEEDED" and job.attempts == 2, job
    assert access_types(client, session) == expected
    client.close()
    assert restarted.terminate() == 0
