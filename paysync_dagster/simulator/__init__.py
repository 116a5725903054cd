"""The payment simulator: synthetic checkouts against a Stripe-compatible API or a
tokenize -> checkout -> pay gateway, every attempt stored and judged against the card's
expected outcome, and the time a payment takes to reach the mirror.

Plain Python, no Dagster: the CLI, `paysync serve` and the `simulator/payments` asset all run
it through `engine.run_simulation`.
"""
