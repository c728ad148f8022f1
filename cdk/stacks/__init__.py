"""The two stacks of an environment: the replica (deployed first) and the primary."""
