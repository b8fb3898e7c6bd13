

def main():
    """Fill the disk: one file after another, each written until the writes fail."""
    chunk = b"x" * 2**20
    k = 0
    while True:
        k += 1
        try:
            with open(f"fill-{k}.bin", "wb") as f:
                while True:
                    f.write(chunk)
        except OSError:
            continue
