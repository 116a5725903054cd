"""Word lists for synthetic sandbox objects; no real people or companies."""

FIRST_NAMES = (
    "Avery", "Blake", "Casey", "Dana", "Eden", "Finley", "Gray", "Harper", "Indy", "Jules",
    "Kai", "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Reese", "Sage", "Taylor",
    "Umber", "Val", "Wren", "Xen", "Yael", "Zion", "Arden", "Briar", "Cove", "Dune",
    "Ellis", "Fable",
)  # fmt: skip

LAST_NAMES = (
    "Ashdown", "Birchwood", "Copperfield", "Dunmore", "Elmsworth", "Foxhollow", "Glenrock",
    "Hawthorne", "Ironside", "Juniper", "Kestrel", "Larkspur", "Marblestone", "Northcott",
    "Oakridge", "Pinecrest", "Quarry", "Riverton", "Stonebridge", "Thistlewood", "Underhill",
    "Valemont", "Willowby", "Yarrow", "Zephyrine", "Amberly", "Brookhart", "Cedarvale",
    "Driftwood", "Emberton", "Fernsby", "Galeford",
)  # fmt: skip

STREETS = (
    "Sandbox", "Example", "Test", "Fixture", "Sample", "Demo", "Mock", "Staging",
)  # fmt: skip

# (city, state, postal code prefix); the addresses are shaped like US ones but invented.
CITIES = (
    ("Springfield", "IL", "627"), ("Riverside", "CA", "925"), ("Fairview", "TN", "370"),
    ("Franklin", "MA", "020"), ("Greenville", "SC", "296"), ("Madison", "WI", "537"),
    ("Clinton", "IA", "527"), ("Georgetown", "TX", "786"), ("Salem", "OR", "973"),
    ("Arlington", "VA", "222"), ("Ashland", "KY", "411"), ("Dover", "DE", "199"),
    ("Milton", "FL", "325"), ("Newport", "RI", "028"), ("Oxford", "MS", "386"),
    ("Burlington", "VT", "054"),
)  # fmt: skip

SEGMENTS = ("smb", "mid_market", "enterprise", "startup")

PRODUCT_ADJECTIVES = (
    "Basic", "Standard", "Premium", "Growth", "Scale", "Team", "Pro", "Starter",
    "Advanced", "Essential", "Plus", "Unlimited",
)  # fmt: skip

PRODUCT_NOUNS = (
    "Analytics", "Storage", "Seats", "Support", "Hosting", "Messaging", "Reporting",
    "Backups", "Monitoring", "Payroll", "Invoicing", "Workflows",
)  # fmt: skip

MONTHLY_AMOUNTS = (500, 900, 1200, 1500, 2000, 2900, 4900, 9900, 19900)
ONE_TIME_AMOUNTS = (2500, 5000, 10000, 15000, 25000)
