import os


def main(host_dir):
    """Write to the host: the driver's folder, /tmp outside the run folder, the home folder."""
    written = []
    for path in (os.path.join(host_dir, "pwned.txt"), "/tmp/codeevo-hostile-pwned.txt",
                 "/var/tmp/codeevo-hostile-pwned.txt", "/root/codeevo-hostile-pwned.txt"):
        try:
            with open(path, "w") as f:
                f.write("pwned")
            written.append(path)
        except OSError:
            pass
    return written
