"""What paysync mirrors from Stripe: the provider's name, its entities and their lineage."""

PROVIDER = "stripe"

# Upstream entities each entity's rows reference, in sync order: the lineage the assets
# declare and the reference checks verify.
LINEAGE: dict[str, tuple[str, ...]] = {
    "customers": (),
    "products": (),
    "prices": ("products",),
    "subscriptions": ("customers", "prices"),
    "invoices": ("customers", "subscriptions"),
}
ENTITIES = tuple(LINEAGE)


def is_test_key(api_key: str) -> bool:
    """Whether a Stripe key is a test-mode key (`sk_test_…`, `rk_test_…`)."""
    return "_test_" in api_key
