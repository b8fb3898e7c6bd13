"""Run OpenEvolve and ShinkaEvolve problem folders unchanged (docs/migrating.md).

`detect_format(dir)` recognises a folder; `load_foreign(dir)` translates it into a codeevo
`Problem` (config keys, cascade, stand-ins for the frameworks' helper modules); the
``codeevo import`` command writes it out as a native problem folder (`export_problem`).
"""

from __future__ import annotations

from codeevo.compat.detect import OPENEVOLVE, SHINKAEVOLVE, detect_format
from codeevo.compat.folder import load_foreign

__all__ = ["OPENEVOLVE", "SHINKAEVOLVE", "detect_format", "load_foreign"]
