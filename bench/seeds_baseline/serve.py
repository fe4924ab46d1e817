"""uvicorn's command line, with TCP_NODELAY on every connection when it runs several workers.

With --workers, uvicorn binds the listening socket itself as `socket.socket(family=AF_INET)`, whose `proto` is 0,
and asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP. Without it, every answer on a
kept-alive connection waits about 40 ms for the client's delayed ACK (Nagle): the seeds' services measured
1,000 times slower per call than they are. A single uvicorn process (the seeds' Dockerfiles) does not have the
problem. The same socket, relabelled as TCP, fixes it:

    python bench/seeds_baseline/serve.py api:app --app-dir ... --port ... --workers 4
"""

import socket
import sys

import uvicorn
from uvicorn.config import Config

_bind_socket = Config.bind_socket


def bind_socket(self: Config) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        sock.set_inheritable(True)
    return sock


Config.bind_socket = bind_socket

if __name__ == "__main__":
    sys.exit(uvicorn.main())
