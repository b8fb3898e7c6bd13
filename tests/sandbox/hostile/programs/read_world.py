import os


def main(host_dir):
    """Read a world-readable host file (the local sandbox used to show the host's files)."""
    out = {}
    for path in (os.path.join(host_dir, "world.txt"), "/etc/hostname"):
        try:
            with open(path) as f:
                out[path] = f.read(300)
        except OSError as exc:
            out[path] = f"denied: {exc.strerror}"
    return out
