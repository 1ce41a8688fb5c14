"""Tasks that hang in a named function, for the tests of where a task hung (SPEC §13).

Module-level, so that a process pool's workers can import them. The line the code waits
on holds the secret, so that the stack shown of it must mask it.
"""

from __future__ import annotations

import os
import threading

#: Never set: whoever waits on it waits until the process exits.
NEVER = threading.Event()

#: The secret held by a secret-named local of the frame that waits.
SECRET = "hunter2-warehouse-7f3a"

#: An environment variable with a secret name, set by the tests: its value is masked.
ENVIRONMENT_KEY = "WAREHOUSE_API_KEY"

#: The line ``wait_for_the_warehouse`` waits on, as a traceback shows it (masked).
WAITING_LINE = 'waited = NEVER.wait() or password == "[redacted]"'


def wait_for_the_warehouse() -> bool:
    password = "hunter2-warehouse-7f3a"
    url = "postgresql://etl:s3cr3t-pw@warehouse/orders"  # a password by its shape
    greeting = f"hello {os.environ.get(ENVIRONMENT_KEY, '')}"  # by the environment's value
    waited = NEVER.wait() or password == "hunter2-warehouse-7f3a"
    return waited and bool(url and greeting)


def load_orders() -> bool:
    return wait_for_the_warehouse()
