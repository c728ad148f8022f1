"""Side-by-side performance measurements. Run with `make bench`; results in results/."""
