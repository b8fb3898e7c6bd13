"""The Textual terminal UI: home, new-run form, run dashboard, candidate and lineage screens.

Importing this package does not import textual; ``codeevo.tui.app`` does.
"""
