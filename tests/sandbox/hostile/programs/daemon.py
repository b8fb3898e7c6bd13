import os
import time


def main():
    """Leave a daemon behind: double fork into a new session, then return at once."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(300)
        os._exit(0)
    return "daemon started"
