import os


def main(host_dir, project):
    """List the host's folders: top level, homes, shared tmp, the project checkout, run dirs."""
    out = {}
    for d in ("/", "/root", "/home", "/tmp", "/var/tmp", os.path.dirname(host_dir), host_dir,
              project, os.path.dirname(project), os.path.join(project, "runs")):
        try:
            out[d] = sorted(os.listdir(d))[:40]
        except OSError as exc:
            out[d] = f"denied: {exc.strerror}"
    try:
        with open(os.path.join(project, "pyproject.toml")) as f:
            out["pyproject.toml"] = f.read(200)
    except OSError as exc:
        out["pyproject.toml"] = f"denied: {exc.strerror}"
    return out
