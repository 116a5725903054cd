"""A run's cards and customers: from files when given, else the shipped defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from paysync_dagster.simulator.cards import Card, load_cards
from paysync_dagster.simulator.customers import Customer, read_customers, synthetic_customers
from paysync_dagster.simulator.problems import Problem

# Synthetic customers a run uses when no file is given; enough for variety, cheap to make.
DEFAULT_CUSTOMERS = 20


@dataclass(frozen=True)
class Inputs:
    """Valid cards and customers, and the records refused on the way (to report)."""

    cards: list[Card]
    customers: list[Customer]
    problems: list[Problem]


def load_inputs(kind: str, cards: Path | None = None, customers: Path | None = None) -> Inputs:
    """The cards for a `kind` target and the customers, from files or the defaults."""
    card_list, card_problems = load_cards(cards, kind)
    if customers is None:
        return Inputs(card_list, synthetic_customers(DEFAULT_CUSTOMERS), card_problems)
    customer_list, customer_problems = read_customers(customers)
    return Inputs(card_list, customer_list, [*card_problems, *customer_problems])
