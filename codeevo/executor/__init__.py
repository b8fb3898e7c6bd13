"""Where evaluations run: the engine hands plain-data jobs to an Executor (local or Ray)."""
