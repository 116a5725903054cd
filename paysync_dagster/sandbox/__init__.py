"""Local stand-ins for provider APIs, used by the demo, the tests and the benchmarks."""
