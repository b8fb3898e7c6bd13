"""Operators that turn parent programs into child programs, and the EVOLVE-BLOCK rules."""
