"""The run's store of record: one git commit per candidate, and a networkx index over it."""
