"""A contributor's own ledger: entries with the rate they were earned at, and totals."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from jamii.collector.i18n import Translator

if TYPE_CHECKING:
    from jamii.core.store import Store


def earning_rows(store: Store, contributor_id: int, tr: Translator) -> list[dict[str, Any]]:
    """One row per ledger entry, newest first, with the rate card version it was earned under."""
    entries = store.earnings(contributor_id)
    cards = store.rate_cards_by_id({e.rate_card_id for e in entries if e.rate_card_id})
    rows = []
    for e in reversed(entries):
        card = cards.get(e.rate_card_id)
        rate = (card.rates.get(e.activity) or {}) if card else {}
        rate_text = f"{rate.get('amount')} {rate.get('unit')}" if rate else ""
        rows.append({
            tr("earnings.date"): e.created_at.date().isoformat() if e.created_at else "",
            tr("earnings.activity"): tr(f"activity.{e.activity}", default=e.activity),
            tr("earnings.quantity"): _num(e.quantity),
            tr("earnings.rate"): rate_text + (f" (v{card.version})" if card else ""),
            tr("earnings.amount"): f"{_num(e.amount)} {e.unit}",
            tr("earnings.status"): tr(f"payment.{e.status}", default=e.status),
            tr("earnings.reference"): e.payout_reference or "",
        })
    return rows


def totals(store: Store, contributor_id: int) -> dict[str, dict[str, Decimal]]:
    """unit -> status -> amount."""
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for e in store.earnings(contributor_id):
        out[e.unit][e.status] += e.amount
    return {u: dict(s) for u, s in out.items()}


def totals_lines(tr: Translator, table: dict[str, dict[str, Decimal]]) -> list[str]:
    lines = []
    for unit, by_status in sorted(table.items()):
        parts = [f"{tr(f'payment.{s}', default=s)}: {_num(a)}" for s, a in sorted(by_status.items())]
        lines.append(f"{unit} — " + ", ".join(parts))
    return lines


def _num(value: Decimal | float | int) -> str:
    d = Decimal(str(value)).normalize()
    text = format(d, "f")
    return text


def own_data_json(store: Store, contributor_id: int) -> bytes:
    """Everything stored about the person, as a JSON file they can keep."""
    data = store.own_data(contributor_id)
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
