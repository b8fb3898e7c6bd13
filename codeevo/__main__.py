from __future__ import annotations

import sys

from codeevo.cli import main

sys.exit(main())
