"""Stripe's field lists for each object type, filled from values the dataset computes.

Kept apart from the dataset so "what a Stripe object looks like" is readable in one place and
"which values this account has" (hashing, relations, timelines) in another.
"""

from typing import Any

DAY = 86_400


def customer(
    *,
    object_id: str,
    created: int,
    invoice_prefix: str,
    email: str | None,
    name: str | None,
    phone: str | None,
    description: str | None,
    metadata: dict[str, str],
    address: dict[str, Any] | None = None,
    balance: int = 0,
    currency: str | None = None,
    delinquent: bool = False,
    next_invoice_sequence: int = 1,
) -> dict[str, Any]:
    """A customer; the defaults are those of a customer just created through the API."""
    return {
        "id": object_id,
        "object": "customer",
        "address": address,
        "balance": balance,
        "created": created,
        "currency": currency,
        "default_source": None,
        "delinquent": delinquent,
        "description": description,
        "discount": None,
        "email": email,
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": metadata,
        "name": name,
        "next_invoice_sequence": next_invoice_sequence,
        "phone": phone,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def address(*, city: str, state: str, line1: str, postal_code: str) -> dict[str, Any]:
    """A US postal address."""
    return {
        "city": city,
        "country": "US",
        "line1": line1,
        "line2": None,
        "postal_code": postal_code,
        "state": state,
    }


def product(
    *,
    object_id: str,
    created: int,
    name: str,
    active: bool,
    default_price: str,
    description: str | None,
    metadata: dict[str, str],
    updated: int,
) -> dict[str, Any]:
    """A service product."""
    return {
        "id": object_id,
        "object": "product",
        "active": active,
        "created": created,
        "default_price": default_price,
        "description": description,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": metadata,
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": updated,
        "url": None,
    }


def price(
    *,
    object_id: str,
    created: int,
    product: str,
    unit_amount: int,
    interval: str | None,
    nickname: str,
) -> dict[str, Any]:
    """A per-unit USD price: recurring every `interval`, or one-time when it is None."""
    recurring = (
        None
        if interval is None
        else {
            "interval": interval,
            "interval_count": 1,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }
    )
    return {
        "id": object_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": "usd",
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": nickname,
        "product": product,
        "recurring": recurring,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time" if interval is None else "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def subscription_item(
    *,
    object_id: str,
    created: int,
    period: tuple[int, int],
    price: dict[str, Any],
    quantity: int,
    subscription: str,
) -> dict[str, Any]:
    """One item of a subscription, with its price expanded as Stripe returns it."""
    return {
        "id": object_id,
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": created,
        "current_period_end": period[1],
        "current_period_start": period[0],
        "discounts": [],
        "metadata": {},
        "price": price,
        "quantity": quantity,
        "subscription": subscription,
        "tax_rates": [],
    }


def subscription(
    *,
    object_id: str,
    created: int,
    customer: str,
    status: str,
    items: list[dict[str, Any]],
    period: tuple[int, int],
    ended_at: int | None,
    cancel_at_period_end: bool,
    latest_invoice: str | None,
) -> dict[str, Any]:
    """A subscription; cancellation and trial fields follow from `status` and `ended_at`."""
    trialing = status == "trialing"
    canceled_at = ended_at if ended_at else (period[0] if cancel_at_period_end else None)
    return {
        "id": object_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": created,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic"},
        "billing_thresholds": None,
        "cancel_at": period[1] if cancel_at_period_end else None,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": canceled_at,
        "cancellation_details": {
            "comment": None,
            "feedback": None,
            "reason": "cancellation_requested" if canceled_at else None,
        },
        "collection_method": "charge_automatically",
        "created": created,
        "currency": "usd",
        # Newer API versions moved the period onto the items; older clients read it here.
        "current_period_end": period[1],
        "current_period_start": period[0],
        "customer": customer,
        "days_until_due": None,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": ended_at,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "total_count": len(items),
            "url": f"/v1/subscription_items?subscription={object_id}",
        },
        "latest_invoice": latest_invoice,
        "livemode": False,
        "metadata": {},
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": created,
        "status": status,
        "test_clock": None,
        "transfer_data": None,
        "trial_end": period[1] if trialing else None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": period[0] if trialing else None,
    }


def subscription_line_parent(subscription: str, subscription_item: str) -> dict[str, Any]:
    """`parent` of an invoice line billed by a subscription item."""
    return {
        "invoice_item_details": None,
        "subscription_item_details": {
            "invoice_item": None,
            "proration": False,
            "proration_details": {"credited_items": None},
            "subscription": subscription,
            "subscription_item": subscription_item,
        },
        "type": "subscription_item_details",
    }


def invoice_item_line_parent(invoice_item: str) -> dict[str, Any]:
    """`parent` of an invoice line billed by a one-off invoice item."""
    return {
        "invoice_item_details": {
            "invoice_item": invoice_item,
            "proration": False,
            "proration_details": {"credited_items": None},
            "subscription": None,
        },
        "subscription_item_details": None,
        "type": "invoice_item_details",
    }


def invoice_line(
    *,
    object_id: str,
    invoice: str,
    description: str,
    parent: dict[str, Any],
    period: tuple[int, int],
    price: str,
    product: str,
    unit_amount: int,
    quantity: int,
) -> dict[str, Any]:
    """One line of an invoice."""
    return {
        "id": object_id,
        "object": "line_item",
        "amount": unit_amount * quantity,
        "currency": "usd",
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice,
        "livemode": False,
        "metadata": {},
        "parent": parent,
        "period": {"end": period[1], "start": period[0]},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price, "product": product},
            "type": "price_details",
            "unit_amount_decimal": str(unit_amount),
        },
        "quantity": quantity,
        "taxes": [],
    }


def invoice(
    *,
    object_id: str,
    created: int,
    customer: str,
    customer_email: str,
    customer_name: str,
    status: str,
    lines: list[dict[str, Any]],
    subscription: str | None,
    billing_reason: str,
    period: tuple[int, int],
    number: str | None,
) -> dict[str, Any]:
    """An invoice; amounts and status timestamps follow from `status` and the lines."""
    total = sum(line["amount"] for line in lines)
    draft = status == "draft"
    finalized_at = None if draft else created + 3600
    paid = total if status == "paid" else 0
    remaining = total - paid if status in ("open", "uncollectible") else 0
    parent = (
        None
        if subscription is None
        else {
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription},
            "type": "subscription_details",
        }
    )
    return {
        "id": object_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Paysync Sandbox",
        "account_tax_ids": None,
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": paid,
        "amount_paid_off_stripe": 0,
        "amount_remaining": remaining,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0 if draft else 1,
        "attempted": not draft,
        "auto_advance": status in ("draft", "open"),
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": "usd",
        "custom_fields": None,
        "customer": customer,
        "customer_address": None,
        "customer_email": customer_email,
        "customer_name": customer_name,
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": finalized_at,
        "ending_balance": None if draft else 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/invoices/{object_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": number,
        "on_behalf_of": None,
        "parent": parent,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period[1],
        "period_start": period[0],
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": status,
        "status_transitions": {
            "finalized_at": finalized_at,
            "marked_uncollectible_at": created + 7 * DAY if status == "uncollectible" else None,
            "paid_at": created + 7200 if status == "paid" else None,
            "voided_at": created + 7 * DAY if status == "void" else None,
        },
        # Newer API versions moved this under `parent`; older clients read it here.
        "subscription": subscription,
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "test_clock": None,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": finalized_at,
    }
