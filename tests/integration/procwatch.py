# SPDX-License-Identifier: Apache-2.0
"""A process's resident memory and open file descriptors, once or sampled over time (the load
test, the D-Bus fuzzer, the soak and the benchmarks watch the daemon with these)."""

import os
import threading
import time


def fd_count(pid):
    return len(os.listdir(f'/proc/{pid}/fd'))


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith('VmRSS:'))


class Sampler:
    """RSS and fd count every `period` seconds on a thread until done(): a list of
    (seconds since start, RSS KiB, fds, what the caller said it was doing)."""

    def __init__(self, pid, period=0.5):
        self.pid, self.period = pid, period
        self.samples = []
        self.doing = 'start'
        self.t0 = time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.wait(self.period):
            try:
                self.samples.append((round(time.monotonic() - self.t0, 2), rss_kib(self.pid), fd_count(self.pid),
                                     self.doing))
            except (OSError, StopIteration):  # the process is gone
                return

    def done(self):
        self.stop.set()
        self.thread.join()
        return self.samples
