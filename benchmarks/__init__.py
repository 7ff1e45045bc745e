"""volmatch benchmark suite: a seeded round generator, baseline solvers and the size ladder.

Run `python -m benchmarks.ladder` for the quick ladder and `--full` for every size; see
`benchmarks/README.md`.
"""
