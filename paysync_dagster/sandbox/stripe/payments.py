"""Payment intents and charges in the sandbox: test payment methods, shapes and parameters.

The test payment methods behave as Stripe's testing docs describe them
(https://docs.stripe.com/testing): `pm_card_visa` succeeds; the `chargeDeclined*` methods and
`pm_card_chargeCustomerFail` decline on confirm with a `card_error`; the 3-D Secure methods
leave the payment intent in `requires_action`. Only brand and last 4 digits of each test card
appear in objects, as in Stripe.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import StripeError, invalid_request, unknown_parameter

# Stripe's bounds for a card payment amount in the smallest currency unit.
MIN_AMOUNT = 1
MAX_AMOUNT = 99_999_999
_CREATE_PARAMS = {"amount", "currency", "payment_method", "payment_method_types", "metadata"}
_CONFIRM_PARAMS = {"payment_method"}


@dataclass(frozen=True)
class TestPaymentMethod:
    """A Stripe test payment method and what confirming a payment with it does.

    `decline` is (code, decline_code, message) for a card that declines; `requires_action`
    marks 3-D Secure cards; neither: the payment succeeds.
    """

    brand: str
    last4: str
    decline: tuple[str, str, str] | None = None
    requires_action: bool = False


_DECLINED = ("card_declined", "generic_decline", "Your card was declined.")
TEST_PAYMENT_METHODS: dict[str, TestPaymentMethod] = {
    "pm_card_visa": TestPaymentMethod("visa", "4242"),
    "pm_card_visa_debit": TestPaymentMethod("visa", "5556"),
    "pm_card_mastercard": TestPaymentMethod("mastercard", "4444"),
    "pm_card_amex": TestPaymentMethod("amex", "8431"),
    "pm_card_chargeDeclined": TestPaymentMethod("visa", "0002", _DECLINED),
    "pm_card_visa_chargeDeclined": TestPaymentMethod("visa", "0002", _DECLINED),
    "pm_card_chargeDeclinedInsufficientFunds": TestPaymentMethod(
        "visa", "9995", ("card_declined", "insufficient_funds", "Your card has insufficient funds.")
    ),
    "pm_card_chargeDeclinedExpiredCard": TestPaymentMethod(
        "visa", "0069", ("expired_card", "expired_card", "Your card has expired.")
    ),
    "pm_card_chargeDeclinedIncorrectCvc": TestPaymentMethod(
        "visa",
        "0127",
        ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    ),
    # Attaches to a customer, then every charge attempt declines.
    "pm_card_chargeCustomerFail": TestPaymentMethod("visa", "0341", _DECLINED),
    "pm_card_threeDSecure2Required": TestPaymentMethod("visa", "3220", requires_action=True),
    "pm_card_authenticationRequired": TestPaymentMethod("visa", "3184", requires_action=True),
}


def payment_method(payment_method_id: Any, param: str = "payment_method") -> TestPaymentMethod:
    """The test payment method `payment_method_id`; Stripe's resource_missing otherwise."""
    if not isinstance(payment_method_id, str) or payment_method_id not in TEST_PAYMENT_METHODS:
        shown = str(payment_method_id)[:64]
        raise StripeError(
            400, f"No such PaymentMethod: '{shown}'", code="resource_missing", param=param
        )
    return TEST_PAYMENT_METHODS[payment_method_id]


@dataclass(frozen=True)
class CreateParams:
    """Validated `POST /v1/payment_intents` parameters."""

    amount: int
    currency: str
    payment_method: str | None
    payment_method_types: tuple[str, ...]


def parse_create(params: Mapping[str, Any]) -> CreateParams:
    """Validate a payment intent create; the metadata is validated by the caller's merge."""
    for name in params:
        if name not in _CREATE_PARAMS:
            raise unknown_parameter(str(name))
    amount_text = params.get("amount")
    if not isinstance(amount_text, str) or not amount_text.isdigit() or len(amount_text) > 12:
        raise invalid_request("Missing required param: amount.", param="amount")
    amount = int(amount_text)
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise invalid_request(
            f"Amount must be between {MIN_AMOUNT} and {MAX_AMOUNT}.",
            param="amount",
            code="amount_too_large" if amount > MAX_AMOUNT else "amount_too_small",
        )
    currency = params.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise invalid_request("Missing required param: currency.", param="currency")
    method = params.get("payment_method")
    if method is not None:
        payment_method(method)
    types = params.get("payment_method_types", {"0": "card"})
    if not isinstance(types, Mapping) or list(types.values()) != ["card"]:
        raise invalid_request(
            "The sandbox supports payment_method_types=['card'] only.",
            param="payment_method_types",
        )
    return CreateParams(amount, currency.lower(), method, ("card",))


def parse_confirm(params: Mapping[str, Any]) -> str | None:
    """The payment method a confirm names (None: the one given at create)."""
    for name in params:
        if name not in _CONFIRM_PARAMS:
            raise unknown_parameter(str(name))
    method = params.get("payment_method")
    if method is not None:
        payment_method(method)
    return method


def payment_intent(
    *, object_id: str, created: int, params: CreateParams, metadata: dict[str, str], secret: str
) -> dict[str, Any]:
    """A payment intent just created: awaiting confirmation (or a payment method)."""
    return {
        "id": object_id,
        "object": "payment_intent",
        "amount": params.amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{object_id}_secret_{secret}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": params.currency,
        "customer": None,
        "description": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "next_action": None,
        "payment_method": params.payment_method,
        "payment_method_types": list(params.payment_method_types),
        "receipt_email": None,
        "status": "requires_confirmation" if params.payment_method else "requires_payment_method",
    }


def charge(
    *, object_id: str, created: int, intent: Mapping[str, Any], method_id: str
) -> dict[str, Any]:
    """The charge of confirming `intent` with `method_id`: succeeded or failed."""
    method = TEST_PAYMENT_METHODS[method_id]
    declined = method.decline
    return {
        "id": object_id,
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": 0 if declined else intent["amount"],
        "amount_refunded": 0,
        "captured": declined is None,
        "created": created,
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": None,
        "failure_code": declined[0] if declined else None,
        "failure_message": declined[2] if declined else None,
        "livemode": False,
        "metadata": intent["metadata"],
        "outcome": {
            "network_status": "declined_by_network" if declined else "approved_by_network",
            "reason": declined[1] if declined else None,
            "risk_level": "normal",
            "seller_message": "The bank did not return any further details with this decline."
            if declined
            else "Payment complete.",
            "type": "issuer_declined" if declined else "authorized",
        },
        "paid": declined is None,
        "payment_intent": intent["id"],
        "payment_method": method_id,
        "payment_method_details": {
            "card": {
                "brand": method.brand,
                "country": "US",
                "exp_month": 12,
                "exp_year": 2034,
                "funding": "credit",
                "last4": method.last4,
                "network": method.brand,
            },
            "type": "card",
        },
        "refunded": False,
        "status": "failed" if declined else "succeeded",
    }


def card_error(intent: Mapping[str, Any], charge_id: str, method_id: str) -> StripeError:
    """The 402 `card_error` Stripe answers a declined confirm with."""
    code, decline_code, message = TEST_PAYMENT_METHODS[method_id].decline or _DECLINED
    return StripeError(
        402,
        message,
        type_="card_error",
        code=code,
        extra={
            "decline_code": decline_code,
            "charge": charge_id,
            "payment_intent": dict(intent),
        },
    )
