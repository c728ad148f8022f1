"""Reusable constructs, one per concept."""
