"""The licences a release may carry, and what each one asks of the release folder."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Licence:
    id: str
    """What the organiser passes to --license, e.g. "cc-by-4.0" or "noodl-1.0"."""
    hub_id: str
    """The card's `license`: a Hub licence id, or "other"."""
    name: str
    url: str
    spdx: str | None
    """SPDX id when one exists (none for NOODL)."""
    dpg_eligible: bool
    """On the Digital Public Goods Alliance's list of open data licences."""
    needs_benefit: bool = False
    """NOODL: recipients outside developing countries owe the benefit the community names."""

    @property
    def card_fields(self) -> dict[str, str]:
        if self.hub_id != "other":
            return {"license": self.hub_id}
        return {"license": "other", "license_name": self.id, "license_link": "LICENSE"}

    def text(self) -> str:
        """The LICENSE file: our notice with the licence's name and link."""
        return (resources.files("jamii.datasheets") / "licenses" / f"{self.id}.md").read_text("utf-8")


LICENCES: dict[str, Licence] = {
    lic.id: lic
    for lic in (
        Licence("cc-by-4.0", "cc-by-4.0", "Creative Commons Attribution 4.0 International",
                "https://creativecommons.org/licenses/by/4.0/legalcode", "CC-BY-4.0", True),
        Licence("cc-by-sa-4.0", "cc-by-sa-4.0",
                "Creative Commons Attribution-ShareAlike 4.0 International",
                "https://creativecommons.org/licenses/by-sa/4.0/legalcode", "CC-BY-SA-4.0", True),
        Licence("cc0-1.0", "cc0-1.0", "Creative Commons Zero v1.0 Universal",
                "https://creativecommons.org/publicdomain/zero/1.0/legalcode", "CC0-1.0", True),
        Licence("noodl-1.0", "other", "Nwulite Obodo Open Data Licence 1.0",
                "https://cipit.org/the-nwulite-obodo-open-data-license-a-new-licence-for-sharing-african-datasets/", None, False,
                needs_benefit=True),
    )
}
DEFAULT_LICENCE = "cc-by-4.0"
ALIASES = {"noodl": "noodl-1.0", "cc-by": "cc-by-4.0", "cc-by-sa": "cc-by-sa-4.0", "cc0": "cc0-1.0"}


def resolve(name: str | None) -> Licence | str:
    """The licence, or a sentence saying why it is refused."""
    key = (name or DEFAULT_LICENCE).strip().lower()
    key = ALIASES.get(key, key)
    if key in LICENCES:
        return LICENCES[key]
    allowed = ", ".join(LICENCES)
    return (f"licence '{name}' is not on the allowed list ({allowed}); community licences other "
            f"than NOODL need a review of their terms before jamii can publish under them")


SOURCE_COMPATIBLE: dict[str, set[str]] = {
    "cc0-1.0": set(LICENCES),
    "cc-by-4.0": {"cc-by-4.0", "cc-by-sa-4.0"},
    "cc-by-sa-4.0": {"cc-by-sa-4.0"},
}
"""Licence of an imported source -> release licences it may be republished under.

CC0 waives every right; CC BY material may go into a BY or BY-SA release (attribution kept);
BY-SA material only into a BY-SA release. Any other source licence (NOODL, NC, ND, unknown)
needs an organiser to check its terms, so it is not released automatically."""


def normalise(name: str) -> str:
    key = name.strip().lower()
    return ALIASES.get(key, key)


def compatible(source_licence: str, release_licence: str) -> bool:
    """Whether items imported under `source_licence` may be republished under the release's."""
    return normalise(release_licence) in SOURCE_COMPATIBLE.get(normalise(source_licence), set())
