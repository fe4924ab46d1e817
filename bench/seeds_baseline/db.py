"""Added for the benchmark: the seeds' services write their tables in their own PostgreSQL database.

The seed documents declare the tables but not the code that writes them. Each service process keeps one
psycopg connection per thread (FastAPI runs plain `def` endpoints in a thread pool) and commits per request.
"""

import os
import threading

import psycopg

_local = threading.local()


def connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(os.environ["SEEDS_DATABASE_URL"])
        _local.conn = conn
    return conn


def write(statements: list[tuple[str, tuple]]) -> None:
    """Run the statements in one transaction."""
    conn = connection()
    with conn.transaction(), conn.cursor() as cur:
        for sql, params in statements:
            cur.execute(sql, params)
