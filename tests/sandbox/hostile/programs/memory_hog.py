def main():
    """Allocate without bound (and touch the memory)."""
    hog = []
    while True:
        hog.append(bytearray(32 * 2**20))
