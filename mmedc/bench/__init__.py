"""Benchmarks (`make bench`): each module here has `run()`, which prints its figures next to a
baseline measured in the same run. Modules that need `../shared/data` say so and skip without it."""
