"""generate backends stage."""
