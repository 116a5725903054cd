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
    "payment_intents": ("customers",),
    "charges": ("customers", "payment_intents"),
}
ENTITIES = tuple(LINEAGE)
# Stripe's `object` name of each entity's objects (`customer` for customers), as events carry it.
OBJECT_NAMES = {entity: entity.removesuffix("s") for entity in ENTITIES}

# Which typed column names which upstream entity, per entity.
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "prices": (("product_external_id", "products"),),
    "subscriptions": (("customer_external_id", "customers"), ("price_external_id", "prices")),
    "invoices": (
        ("customer_external_id", "customers"),
        ("subscription_external_id", "subscriptions"),
    ),
    "payment_intents": (("customer_external_id", "customers"),),
    "charges": (
        ("customer_external_id", "customers"),
        ("payment_intent_external_id", "payment_intents"),
    ),
}

# What each entity means to the business, as the Dagster catalog shows it.
DESCRIPTIONS = {
    "customers": "Every Stripe customer of the workspace: who is billed.",
    "products": "The workspace's Stripe product catalogue.",
    "prices": "What each product costs, one-off or recurring.",
    "subscriptions": "Recurring agreements between customers and prices: the revenue base.",
    "invoices": "Bills issued to customers, with amounts due and paid.",
    "payment_intents": "Attempts to collect a payment, from creation to success or failure.",
    "charges": "Each attempt to charge a card, with its outcome and failure reason.",
}


def is_test_key(api_key: str) -> bool:
    """Whether a Stripe key is a test-mode key (`sk_test_…`, `rk_test_…`)."""
    return "_test_" in api_key
