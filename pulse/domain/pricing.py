"""Pricing a period's usage into invoice lines.

Rounding rule (one place, documented in docs/billing.md): each line's amount is
computed exactly, ``raw usage / raw units per billing unit / price's "per" x unit
price``, with ``Decimal`` arithmetic (28 significant digits), then rounded **once**,
half up, to the cent. The total is the sum of the rounded line amounts, so the
lines always add up to the total exactly. Quantities are shown to three decimals;
the shown quantity never feeds the amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pulse.domain.metering import Meter
from pulse.domain.plans import PlanTerms

CENT = Decimal("0.01")
_QUANTITY_PLACES = Decimal("0.001")
BASE_FEE_LINE = "base_fee"


def round_money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def shown_quantity(quantity: Decimal) -> Decimal:
    return quantity.quantize(_QUANTITY_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class InvoiceLine:
    item: str
    """A meter's value, or ``base_fee``."""
    description: str
    quantity: Decimal
    """In billing units, shown to three decimals."""
    raw_quantity: int
    """In the meter's raw unit (ms, bytes, requests); 1 for the base fee."""
    unit_price: Decimal
    per: int
    amount: Decimal

    def as_dict(self) -> dict[str, str | int]:
        """Plain values for events and read models (money and quantities as strings)."""
        return {
            "item": self.item,
            "description": self.description,
            "quantity": str(self.quantity),
            "raw_quantity": self.raw_quantity,
            "unit_price": str(self.unit_price),
            "per": self.per,
            "amount": str(self.amount),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> InvoiceLine:
        return cls(
            item=str(data["item"]),
            description=str(data["description"]),
            quantity=Decimal(str(data["quantity"])),
            raw_quantity=int(str(data["raw_quantity"])),
            unit_price=Decimal(str(data["unit_price"])),
            per=int(str(data["per"])),
            amount=Decimal(str(data["amount"])),
        )


_DESCRIPTIONS = {
    Meter.PARTICIPANT_MINUTES: "Participant minutes",
    Meter.EGRESS_MINUTES: "Egress minutes",
    Meter.INGRESS_MINUTES: "Ingress minutes",
    Meter.STORAGE_GB: "Recording storage (GB)",
    Meter.BANDWIDTH_GB: "Bandwidth (GB)",
    Meter.API_REQUESTS: "API requests",
}


def price_usage(terms: PlanTerms, raw_usage: Mapping[Meter, int]) -> list[InvoiceLine]:
    """The invoice lines of one project's period: the base fee, then each priced meter.

    Every priced meter gets a line, used or not, so an invoice shows the whole price
    list; meters the plan does not price (and all of Free) get none.
    """
    lines: list[InvoiceLine] = []
    if terms.base_fee:
        lines.append(
            InvoiceLine(
                item=BASE_FEE_LINE,
                description=f"{terms.plan.capitalize()} plan",
                quantity=Decimal(1),
                raw_quantity=1,
                unit_price=terms.base_fee,
                per=1,
                amount=round_money(terms.base_fee),
            )
        )
    for meter in Meter:
        price = terms.prices.get(meter)
        if price is None:
            continue
        raw = int(raw_usage.get(meter, 0))
        quantity = meter.in_units(raw)
        lines.append(
            InvoiceLine(
                item=str(meter),
                description=_DESCRIPTIONS[meter],
                quantity=shown_quantity(quantity),
                raw_quantity=raw,
                unit_price=price.amount,
                per=price.per,
                amount=round_money(quantity / price.per * price.amount),
            )
        )
    return lines


def total_of(lines: list[InvoiceLine]) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.00"))
