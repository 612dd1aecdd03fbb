"""Echo server for lab probes; runs as its own process: ``python3 -I -S echo.py tcp:FD udp:FD ...``.

Stdlib only, started with -I -S so it starts in ~10 ms. The listening sockets are created
by the parent inside the right namespace and inherited as file descriptors, so the server
is ready the moment it is spawned (no port race, no readiness handshake).

Every line (TCP) or datagram (UDP) is answered with ``<line> <peer-ip>:<peer-port>\\n``: the
peer address the server saw is the evidence of NAT (a masqueraded guest shows up as the
host's uplink address). TCP connections stay open, so a caller can hold one across a change.
"""

import selectors
import socket
import struct
import sys

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


def _reply(line: bytes, peer: tuple) -> bytes:
    return line.rstrip(b"\r\n") + f" {peer[0]}:{peer[1]}\n".encode()


def _udp_echo(sock: socket.socket) -> None:
    """Answer from the address the datagram was sent to (not the routing's choice of
    source): a NAT only maps the reply back if it comes from the address it expects."""
    data, anc, _, addr = sock.recvmsg(65535, socket.CMSG_SPACE(12))
    local = next((d[8:12] for lvl, typ, d in anc if lvl == socket.IPPROTO_IP and typ == IP_PKTINFO), None)
    cmsg = [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("@i4s4s", 0, local, bytes(4)))] if local else []
    sock.sendmsg([_reply(data, addr)], cmsg, 0, addr)


def main(specs: list[str]) -> None:
    sel = selectors.DefaultSelector()
    for spec in specs:
        kind, fd = spec.split(":")
        sock = socket.socket(fileno=int(fd))
        sock.setblocking(False)
        if kind == "udp":  # the parent set it too, before any datagram could queue
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        sel.register(sock, selectors.EVENT_READ, (kind, None, bytearray()))
    while True:
        for key, _ in sel.select():
            sock, (kind, peer, buf) = key.fileobj, key.data
            try:
                if kind == "tcp":
                    conn, addr = sock.accept()
                    conn.setblocking(True)  # replies are tiny; a blocking send never stalls
                    conn.settimeout(2)
                    sel.register(conn, selectors.EVENT_READ, ("conn", addr, bytearray()))
                elif kind == "udp":
                    _udp_echo(sock)
                else:
                    data = sock.recv(65536)
                    if not data:
                        raise ConnectionResetError
                    buf += data
                    while b"\n" in buf:
                        line, _, rest = bytes(buf).partition(b"\n")
                        buf[:] = rest
                        sock.sendall(_reply(line, peer))
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:  # a client went away mid-exchange: forget it, keep serving
                if kind == "conn":
                    sel.unregister(sock)
                    sock.close()


if __name__ == "__main__":
    main(sys.argv[1:])
