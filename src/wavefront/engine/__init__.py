"""Running a plan: the scheduling loop, one task's life, the merge queue, the runner pool."""
