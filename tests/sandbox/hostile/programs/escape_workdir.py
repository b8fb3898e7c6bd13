import os


def main(host_dir):
    """Leave the run folder: read a root-only host file and a world-readable one, write ../."""
    out = {}
    for path in (os.path.join(host_dir, "root-only.txt"), "/etc/passwd", "/etc/shadow",
                 "/root/.bash_history"):
        try:
            with open(path) as f:
                out[path] = f.read(2000)
        except OSError as exc:
            out[path] = f"denied: {exc.strerror}"
    try:
        with open("../escaped.txt", "w") as f:
            f.write("escaped")
        out["../escaped.txt"] = "written"
    except OSError as exc:
        out["../escaped.txt"] = f"denied: {exc.strerror}"
    return out
