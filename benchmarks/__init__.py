"""The voiceapi-async benchmark suite (issue 5): ``python -m benchmarks`` or ``make bench``.

Every figure is a ratio against a baseline measured in the same run, plus absolute
figures for context; see ``benchmarks/README.md``.  Nothing here asserts on time.
"""
