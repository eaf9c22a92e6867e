"""The run's history: one JSON object per line (the format is in scripts/soak/README.md).

Every writer in the harness (clients, nemesis, final reads) shares one History, so the lines
of one run come from one clock and never interleave.
"""

import json
import threading
import time


class History:
    def __init__(self, path):
        self._file = open(path, "w")
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def now(self):
        """Seconds since the run began."""
        return round(time.monotonic() - self._t0, 4)

    def write(self, record):
        line = json.dumps(record, sort_keys=True)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self):
        with self._lock:
            self._file.close()


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
