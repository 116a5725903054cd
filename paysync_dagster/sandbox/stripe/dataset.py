"""Deterministic Stripe objects: object `i` of each type is a pure function of (seed, i).

Nothing is generated up front, so a million-customer dataset costs nothing to construct and
any object (or page of objects) is built on demand in time proportional to its size.
Relations are arithmetic on indexes:

- price `i` belongs to product `i % P` and is that product's rank `i // P` price
  (rank 0 monthly, rank 1 yearly, rank 2 one-time; every product has ranks 0 and 1);
- subscription `s` belongs to the customer chosen by hashing `s` and bills 1-2 recurring
  prices of one interval;
- invoice `j` is either one-off (about 1 in 10, hashed customer, one-time prices) or bills
  subscription `j // 2`, whose customer it shares.
"""

from collections.abc import Iterator
from typing import Any, NamedTuple

from . import shapes
from .hashing import mix64, stream_key
from .ids import BASE36_UPPER, AffineCodec, IdCodec
from .shapes import DAY
from .timeline import Timeline
from .vocab import (
    CITIES,
    FIRST_NAMES,
    LAST_NAMES,
    MONTHLY_AMOUNTS,
    ONE_TIME_AMOUNTS,
    PRODUCT_ADJECTIVES,
    PRODUCT_NOUNS,
    SEGMENTS,
    STREETS,
)

ENTITIES = ("customers", "products", "prices", "subscriptions", "invoices")
OBJECT_NAMES = {
    "customers": "customer",
    "products": "product",
    "prices": "price",
    "subscriptions": "subscription",
    "invoices": "invoice",
}
_PREFIXES = {
    "customers": "cus",
    "products": "prod",
    "prices": "price",
    "subscriptions": "sub",
    "invoices": "in",
}

# The newest generated object is created just before this instant (2026-01-01T00:00:00Z).
# It is fixed rather than "now" so that the same seed gives the same bytes on every run.
ANCHOR = 1_767_225_600
_SPAN = 3 * 365 * DAY
_INTERVALS = (("month", 30 * DAY), ("year", 365 * DAY))

# Cumulative percentage thresholds: a status applies when the hashed bucket is below it.
_SUBSCRIPTION_STATUSES = (
    (70, "active"),
    (78, "trialing"),
    (85, "past_due"),
    (95, "canceled"),
    (97, "unpaid"),
    (98, "incomplete"),
    (99, "incomplete_expired"),
    (100, "paused"),
)
_INVOICE_STATUSES = (
    (80, "paid"),
    (88, "open"),
    (91, "draft"),
    (94, "uncollectible"),
    (100, "void"),
)


def _pick(thresholds: tuple[tuple[int, str], ...], bucket: int) -> str:
    for limit, status in thresholds:
        if bucket < limit:
            return status
    raise ValueError(f"bucket {bucket} outside the thresholds")


class _Plan(NamedTuple):
    """What subscription `s` bills: the relations shared by the subscription and its invoices."""

    hash: int
    customer: int
    rank: int
    items: tuple[tuple[int, int], ...]  # (price index, quantity)


class StripeDataset:
    """The generated Stripe account of a sandbox: counts, ids and objects for each entity.

    Entities are `customers`, `products`, `prices`, `subscriptions` and `invoices`. Index 0
    is the newest object of its entity and `created` strictly decreases with the index, which
    is also Stripe's list order.
    """

    def __init__(self, customers: int = 1000, seed: int = 0) -> None:
        if customers < 0:
            raise ValueError("customers must be >= 0")
        self.customers = customers
        self.seed = seed
        self.products = max(3, customers // 50)
        self.prices = self.products * 5 // 2
        self._one_time_prices = self.prices - 2 * self.products
        self._counts = {
            "customers": customers,
            "products": self.products,
            "prices": self.prices,
            "subscriptions": customers,
            "invoices": 2 * customers,
        }
        self._codecs = {
            entity: IdCodec(prefix, stream_key(seed, f"id:{entity}"))
            for entity, prefix in _PREFIXES.items()
        }
        self._timelines = {
            entity: Timeline(
                count=count,
                anchor=ANCHOR,
                step=max(1, _SPAN // max(count, 1)),
                key=stream_key(seed, f"created:{entity}"),
            )
            for entity, count in self._counts.items()
        }
        self._item_ids = IdCodec("si", stream_key(seed, "id:subscription_items"))
        self._line_ids = IdCodec("il", stream_key(seed, "id:invoice_lines"))
        self._invoice_item_ids = IdCodec("ii", stream_key(seed, "id:invoice_items"))
        self._invoice_prefixes = AffineCodec(BASE36_UPPER, 8, stream_key(seed, "invoice_prefix"))
        self._customer_key = stream_key(seed, "fields:customers")
        self._product_key = stream_key(seed, "fields:products")
        self._price_key = stream_key(seed, "fields:prices")
        self._subscription_key = stream_key(seed, "fields:subscriptions")
        self._invoice_key = stream_key(seed, "fields:invoices")
        self._builders = {
            "customers": self._customer,
            "products": self._product,
            "prices": self._price,
            "subscriptions": self._subscription,
            "invoices": self._invoice,
        }

    # -- index arithmetic -------------------------------------------------------------------

    def count(self, entity: str) -> int:
        """Number of generated objects of `entity`: 0 for payment intents and charges, which
        exist only once created at runtime."""
        return self._counts.get(entity, 0)

    def get(self, entity: str, index: int) -> dict[str, Any]:
        """A fresh dict of object `index` of `entity` (0 is the newest)."""
        if not 0 <= index < self._counts[entity]:
            raise IndexError(f"{entity} index {index} out of range")
        return self._builders[entity](index)

    def ids(self, entity: str) -> Iterator[str]:
        """Ids of `entity`, newest first (Stripe's list order)."""
        encode = self._codecs[entity].encode
        return (encode(index) for index in range(self._counts[entity]))

    def id_of(self, entity: str, index: int) -> str:
        """The id of object `index`; indexes past `count` name objects created at runtime."""
        return self._codecs[entity].encode(index)

    def index_of(self, entity: str, object_id: str) -> int | None:
        """The index an id encodes (possibly past `count`), or None if it is not our id."""
        return self._codecs[entity].decode(object_id)

    def created(self, entity: str, index: int) -> int:
        """The `created` timestamp of object `index`, without building the object."""
        return self._timelines[entity].created(index)

    def index_range(self, entity: str, gte: int | None, lte: int | None) -> tuple[int, int]:
        """Half-open index range of the objects with `gte <= created <= lte`, in O(1)."""
        return self._timelines[entity].index_range(gte, lte)

    # -- customers --------------------------------------------------------------------------

    def _person(self, index: int) -> tuple[int, str, str]:
        """Hash, name and email of customer `index`, shared with the invoices that bill it."""
        h = mix64(self._customer_key + index)
        first = FIRST_NAMES[h % len(FIRST_NAMES)]
        last = LAST_NAMES[(h >> 8) % len(LAST_NAMES)]
        return h, f"{first} {last}", f"{first}.{last}.{index}@example.com".lower()

    def _customer(self, index: int) -> dict[str, Any]:
        h, name, email = self._person(index)
        detail = mix64(h)
        city, state, postal_prefix = CITIES[detail % len(CITIES)]
        street = STREETS[(detail >> 8) % len(STREETS)]
        metadata = (
            {}
            if detail >> 16 & 3 == 0
            else {
                "segment": SEGMENTS[(detail >> 18) % len(SEGMENTS)],
                "crm_ref": f"crm-{index:08d}",
            }
        )
        return shapes.customer(
            object_id=self._codecs["customers"].encode(index),
            created=self._timelines["customers"].created(index),
            invoice_prefix=self._invoice_prefixes.encode(index),
            email=email,
            name=name,
            phone=f"+1555{(h >> 20) % 10_000_000:07d}" if h >> 44 & 3 else None,
            description=None,
            metadata=metadata,
            address=shapes.address(
                city=city,
                state=state,
                line1=f"{1 + (detail >> 24) % 9899} {street} Street",
                postal_code=f"{postal_prefix}{(detail >> 40) % 100:02d}",
            ),
            balance=-100 * ((detail >> 48) % 50) if (detail >> 54) % 10 == 0 else 0,
            currency="usd",
            delinquent=(h >> 50) % 25 == 0,
            next_invoice_sequence=1 + (h >> 56) % 24,
        )

    def new_customer(
        self,
        index: int,
        created: int,
        *,
        email: str | None,
        name: str | None,
        phone: str | None,
        description: str | None,
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        """A customer created at runtime (index past `count`), shaped like a generated one."""
        return shapes.customer(
            object_id=self._codecs["customers"].encode(index),
            created=created,
            invoice_prefix=self._invoice_prefixes.encode(index),
            email=email,
            name=name,
            phone=phone,
            description=description,
            metadata=metadata,
        )

    # -- catalogue --------------------------------------------------------------------------

    def _product_name(self, index: int) -> str:
        h = mix64(self._product_key + index)
        return (
            f"{PRODUCT_ADJECTIVES[h % len(PRODUCT_ADJECTIVES)]} "
            f"{PRODUCT_NOUNS[(h >> 8) % len(PRODUCT_NOUNS)]}"
        )

    def _product(self, index: int) -> dict[str, Any]:
        h = mix64(self._product_key + index)
        name = self._product_name(index)
        created = self._timelines["products"].created(index)
        return shapes.product(
            object_id=self._codecs["products"].encode(index),
            created=created,
            name=name,
            active=h % 15 != 0,
            default_price=self._codecs["prices"].encode(index),
            description=f"{name} for sandbox accounts" if h >> 16 & 1 else None,
            metadata={"sku": f"SKU-{index:06d}"} if h >> 17 & 1 else {},
            updated=created + (h >> 20) % DAY,
        )

    def _price_terms(self, index: int) -> tuple[int, int, int]:
        """Product index, rank and unit amount of price `index`."""
        product, rank = index % self.products, index // self.products
        h = mix64(self._price_key + index)
        if rank == 2:
            return product, rank, ONE_TIME_AMOUNTS[h % len(ONE_TIME_AMOUNTS)]
        monthly = MONTHLY_AMOUNTS[h % len(MONTHLY_AMOUNTS)]
        return product, rank, monthly * 10 if rank == 1 else monthly

    def _price(self, index: int) -> dict[str, Any]:
        product, rank, unit_amount = self._price_terms(index)
        return shapes.price(
            object_id=self._codecs["prices"].encode(index),
            created=self._timelines["prices"].created(index),
            product=self._codecs["products"].encode(product),
            unit_amount=unit_amount,
            interval=_INTERVALS[rank][0] if rank < 2 else None,
            nickname=("Monthly", "Yearly", "One-time")[rank],
        )

    # -- subscriptions ----------------------------------------------------------------------

    def _plan(self, index: int) -> _Plan:
        h = mix64(self._subscription_key + index)
        products = self.products
        rank = 1 if (h >> 20) % 4 == 0 else 0
        first = (h >> 24) % products
        quantity = 1 if (h >> 32) % 5 else 2 + (h >> 36) % 4
        items: tuple[tuple[int, int], ...] = ((rank * products + first, quantity),)
        if (h >> 40) % 7 == 0:
            second = (first + 1 + (h >> 44) % (products - 1)) % products
            items += ((rank * products + second, 1),)
        return _Plan(h, (h >> 52) % self.customers, rank, items)

    def _is_one_off_invoice(self, index: int) -> bool:
        return mix64(self._invoice_key + index) % 10 == 0

    def _subscription(self, index: int) -> dict[str, Any]:
        plan = self._plan(index)
        h = plan.hash
        created = self._timelines["subscriptions"].created(index)
        status = _pick(_SUBSCRIPTION_STATUSES, (h >> 8) % 100)
        ended_at = None
        if status == "canceled":
            ended_at = created + (h >> 12) % max(1, ANCHOR - created)
        elif status == "incomplete_expired":
            ended_at = created + DAY - 3600
        length = _INTERVALS[plan.rank][1]
        period_start = created + max(0, ((ended_at or ANCHOR) - created) // length) * length
        period = (period_start, period_start + length)
        subscription_id = self._codecs["subscriptions"].encode(index)
        items = [
            shapes.subscription_item(
                object_id=self._item_ids.encode(2 * index + position),
                created=created,
                period=period,
                price=self._price(price),
                quantity=quantity,
                subscription=subscription_id,
            )
            for position, (price, quantity) in enumerate(plan.items)
        ]
        latest_invoice = next(
            (
                self._codecs["invoices"].encode(invoice)
                for invoice in (2 * index, 2 * index + 1)
                if not self._is_one_off_invoice(invoice)
            ),
            None,
        )
        return shapes.subscription(
            object_id=subscription_id,
            created=created,
            customer=self._codecs["customers"].encode(plan.customer),
            status=status,
            items=items,
            period=period,
            ended_at=ended_at,
            cancel_at_period_end=status == "active" and (h >> 60) % 8 == 0,
            latest_invoice=latest_invoice,
        )

    # -- invoices ---------------------------------------------------------------------------

    def _invoice_line(
        self,
        line_index: int,
        invoice_id: str,
        charge: tuple[int, int],
        period: tuple[int, int],
        parent: dict[str, Any],
    ) -> dict[str, Any]:
        price, quantity = charge
        product, rank, unit_amount = self._price_terms(price)
        per = f" / {_INTERVALS[rank][0]}" if rank < 2 else ""
        name = self._product_name(product)
        return shapes.invoice_line(
            object_id=self._line_ids.encode(line_index),
            invoice=invoice_id,
            description=(
                f"{quantity} \N{MULTIPLICATION SIGN} {name} (at ${unit_amount / 100:.2f}{per})"
            ),
            parent=parent,
            period=period,
            price=self._codecs["prices"].encode(price),
            product=self._codecs["products"].encode(product),
            unit_amount=unit_amount,
            quantity=quantity,
        )

    def _invoice(self, index: int) -> dict[str, Any]:
        h = mix64(self._invoice_key + index)
        created = self._timelines["invoices"].created(index)
        invoice_id = self._codecs["invoices"].encode(index)
        if self._is_one_off_invoice(index):
            subscription_id = None
            customer = (h >> 8) % self.customers
            first = (h >> 12) % self._one_time_prices
            charges = [(2 * self.products + first, 1)]
            if (h >> 40) % 2 and self._one_time_prices > 1:
                charges.append((2 * self.products + (first + 1) % self._one_time_prices, 1))
            billing_reason = "manual"
            period = line_period = (created, created)
            lines = [
                self._invoice_line(
                    2 * index + position,
                    invoice_id,
                    charge,
                    line_period,
                    shapes.invoice_item_line_parent(
                        self._invoice_item_ids.encode(2 * index + position)
                    ),
                )
                for position, charge in enumerate(charges)
            ]
        else:
            subscription = index // 2
            plan = self._plan(subscription)
            customer = plan.customer
            subscription_id = self._codecs["subscriptions"].encode(subscription)
            length = _INTERVALS[plan.rank][1]
            # The older of a subscription's two invoices opened it; the newer renewed it.
            if index % 2:
                billing_reason = "subscription_create"
                period = (created, created)
            else:
                billing_reason = "subscription_cycle"
                period = (created - length, created)
            line_period = (created, created + length)
            lines = [
                self._invoice_line(
                    2 * index + position,
                    invoice_id,
                    charge,
                    line_period,
                    shapes.subscription_line_parent(
                        subscription_id, self._item_ids.encode(2 * subscription + position)
                    ),
                )
                for position, charge in enumerate(plan.items)
            ]
        _, customer_name, customer_email = self._person(customer)
        status = _pick(_INVOICE_STATUSES, (h >> 20) % 100)
        return shapes.invoice(
            object_id=invoice_id,
            created=created,
            customer=self._codecs["customers"].encode(customer),
            customer_email=customer_email,
            customer_name=customer_name,
            status=status,
            lines=lines,
            subscription=subscription_id,
            billing_reason=billing_reason,
            period=period,
            number=(
                None
                if status == "draft"
                else f"{self._invoice_prefixes.encode(customer)}-{index + 1:04d}"
            ),
        )
