import os


def main(host_dir):
    """Replace the outputs the evaluator reads with links to a world-readable host file."""
    target = os.path.join(host_dir, "world.txt")
    made = []
    for name, to in (("output.txt", target), ("sub", host_dir)):
        try:
            os.symlink(to, name)
            made.append(name)
        except OSError as exc:
            made.append(f"{name}: {exc.strerror}")
    try:
        os.link(target, "hard.txt")
        made.append("hard.txt")
    except OSError as exc:
        made.append(f"hard.txt: {exc.strerror}")
    return made
