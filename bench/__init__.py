"""`make bench`: Lumbung's benchmarks on the real components (see bench/README.md)."""
