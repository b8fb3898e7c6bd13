def main():
    """Never return."""
    n = 0
    while True:
        n += 1
