import socket


def main(host, port):
    """Open a socket to a listener the test runs on the host (and to the outside)."""
    got = []
    for addr in ((host, int(port)), ("1.1.1.1", 53)):
        try:
            with socket.create_connection(addr, timeout=1) as s:
                s.sendall(b"pwned")
            got.append(f"connected {addr}")
        except OSError as exc:
            got.append(f"blocked {addr}: {exc}")
    return got
