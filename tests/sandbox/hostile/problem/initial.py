# EVOLVE-BLOCK-START
def main(*args):
    """A benign program: the suite checks it still scores after each attack."""
    return sum(range(10))
# EVOLVE-BLOCK-END
