"""codeevo's stand-in for the parts of ShinkaEvolve an evaluator imports (``shinka.core``)."""
