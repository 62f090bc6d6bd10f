"""Benchmarks: each scenario builds its own data, runs the measured path and a peer (or
ceiling) in the same process and run, and prints medians and their ratio.

Run ``python -m benchmarks`` from the repository root to list the scenarios.
"""
