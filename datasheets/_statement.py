"""DATA_STATEMENT.md: Data Statements v3, sections 1 to 17 and the fixed closing paragraph."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jamii.datasheets._datasheet import answers_for

if TYPE_CHECKING:
    from jamii.datasheets._context import Context


def summary(ctx: "Context") -> str:
    """The executive summary (v3 asks for 60 to 100 words): rationale, languages and size."""
    langs = ", ".join(f"{l['name']} ({l['tag']})" for l in ctx.languages()) or "no language"
    kinds = ", ".join(k.replace("_", " ") for k in ctx.found.kinds()) or "no items"
    return (
        f"{ctx.title} is an evaluation benchmark built by and for the community that speaks "
        f"{langs}. Version {ctx.version} holds {ctx.found.total:,} items ({kinds}), each written "
        f"or recorded by a consenting, paid community member and accepted by peer review, so "
        f"that the community can measure how well open models serve it. Contributors appear "
        f"only as pseudonyms; demographic groups under five people are suppressed; items of "
        f"anyone who withdrew consent are excluded."
    )


def render(ctx: "Context", env) -> str:
    return env.get_template("DATA_STATEMENT.md.j2").render(
        ctx=ctx, a=answers_for(ctx), summary=summary(ctx))
