import sys


def main():
    """Print 40 MB to stdout and stderr, then return normally."""
    line = "flood " * 1000 + "\n"
    for _ in range(3500):
        sys.stdout.write(line)
        sys.stderr.write(line)
    return "done"
