"""Sign-in: invite codes and passwords, throttled against guessing."""

from __future__ import annotations

from jamii.core.store._people import PeopleStore


class SignInStore(PeopleStore):
    """Overrides the plain sign-in methods of `PeopleStore` (being filled in)."""
