"""imgkit's benchmark suite: quality and speed of every registered method.

Run ``python -m benchmarks --help``. Per-family kernel speed modules are ``benchmarks/speed/speed_*.py``;
each exposes ``kernel_rows(quick: bool) -> list[dict]`` for ``python -m benchmarks kernels``.
"""
