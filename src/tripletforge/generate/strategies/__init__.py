"""generate strategies stage."""
