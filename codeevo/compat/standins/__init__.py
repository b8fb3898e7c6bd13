"""Stand-ins for the helper modules foreign evaluators import (``openevolve.evaluation_result``,
``shinka.core``). codeevo copies ``openevolve/`` and ``shinka/`` from here into the folder a
translated evaluator runs in, so neither framework needs to be installed. Written for codeevo
from the frameworks' documented behaviour; stdlib only."""
