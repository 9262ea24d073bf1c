#!/usr/bin/env python3
"""Measures ApplyAccessType on a large account: seeds N components (one sample each), runs the job, and reports
its duration and the server's RSS before and during it (sampled from /proc every 20 ms).

    python3 tools/python/measure_jobs.py [--binary .build/release/akto-access] 10000 100000
"""
import argparse
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "tests"))

import conftest  # noqa: E402
import test_jobs  # noqa: E402
from akto.access.v1 import inventory_pb2  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def measure(components):
    server = conftest.Server(["--job-workers", "1"])
    client, session = test_jobs.setup(server, components)
    pid = server.process.pid
    before = rss_kib(pid)
    peak = [before]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.time()
    status, started = client.call(test_jobs.PREFIX + "InventoryService/ApplyAccessType",
                                  inventory_pb2.ApplyAccessTypeRequest(), inventory_pb2.ApplyAccessTypeResponse,
                                  metadata=session)
    job = test_jobs.wait_for(client, session, started.job_id, {"SUCCEEDED", "FAILED"}, timeout=3600)
    elapsed = time.time() - start
    stop.set()
    sampler.join()
    client.close()
    server.terminate()
    print(f"{components:>7} components: job {job.state} in {elapsed:6.1f} s; RSS before {before / 1024:6.1f} MiB, "
          f"peak during job {peak[0] / 1024:6.1f} MiB (+{(peak[0] - before) / 1024:.1f} MiB); result {job.result}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=None)
    parser.add_argument("sizes", nargs="*", type=int, default=[10000, 100000])
    args = parser.parse_args()
    if args.binary:
        os.environ["AKTO_ACCESS_BIN"] = os.path.abspath(args.binary)
    for size in args.sizes:
        measure(size)


if __name__ == "__main__":
    main()
