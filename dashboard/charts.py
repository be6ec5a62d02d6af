"""Altair charts for the dashboard pages, built from the logic modules' frames (no Streamlit).

Each function takes a frame and the axis titles (already translated) and returns an
`alt.Chart`, or None when there is nothing to draw.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

STATUS_COLOURS = {"accepted": "#0f766e", "submitted": "#f59e0b", "needs_edit": "#fb923c",
                  "rejected": "#b91c1c", "owed": "#f59e0b", "approved": "#2563eb",
                  "paid": "#0f766e", "failed": "#b91c1c"}


def _status_scale(statuses) -> alt.Scale:
    statuses = list(statuses)
    return alt.Scale(domain=statuses, range=[STATUS_COLOURS.get(s, "#6b7280") for s in statuses])


def interval_chart(rows: pd.DataFrame, *, value_title: str, model_title: str) -> alt.Chart | None:
    """One metric: a point per run with its 95% interval as an error bar, best on top."""
    data = rows.dropna(subset=["value"]).copy()
    if data.empty:
        return None
    runs = data["run"].fillna("").astype(str)  # a model only the community rated has no run
    data["entry"] = data["model"].astype(str) + runs.map(lambda r: f" · {r}" if r else "")
    data["ci_low"] = data["ci_low"].fillna(data["value"])
    data["ci_high"] = data["ci_high"].fillna(data["value"])
    higher = bool(data["higher_is_better"].iloc[0])
    order = list(data.sort_values("value", ascending=not higher)["entry"])
    y = alt.Y("entry:N", sort=order, title=model_title, axis=alt.Axis(labelLimit=260))
    colour = alt.Color("dataset:N", title="dataset")
    tooltip = ["model", "revision", "dataset", alt.Tooltip("value:Q", format=".3f"),
               alt.Tooltip("ci_low:Q", format=".3f"), alt.Tooltip("ci_high:Q", format=".3f"),
               "n", "warning"]
    base = alt.Chart(data).encode(y=y, color=colour, tooltip=tooltip)
    bars = base.mark_errorbar(ticks=True).encode(
        x=alt.X("ci_low:Q", title=value_title, scale=alt.Scale(zero=False)), x2="ci_high:Q")
    points = base.mark_point(filled=True, size=70).encode(x="value:Q")
    return (bars + points).properties(height=alt.Step(28))


def status_bars(table: pd.DataFrame, dimension: str, *, count_title: str,
                status_labels: dict[str, str]) -> alt.Chart | None:
    """Stacked bars of items per value of `dimension`, coloured by status."""
    statuses = [c for c in status_labels if c in table.columns]
    if table.empty or not statuses:
        return None
    long = table.melt(id_vars=[dimension], value_vars=statuses, var_name="status", value_name="n")
    long = long[long["n"] > 0]
    if long.empty:
        return None
    long["label"] = long["status"].map(status_labels)
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y(f"{dimension}:N", sort="-x", title=None),
        x=alt.X("sum(n):Q", title=count_title),
        color=alt.Color("status:N", scale=_status_scale(statuses),
                        legend=alt.Legend(title=None, labelExpr=_label_expr(status_labels))),
        tooltip=["label", "n"],
    ).properties(height=alt.Step(24))


def _label_expr(labels: dict[str, str]) -> str:
    parts = " : ".join(f"datum.label == {_js(k)} ? {_js(v)}" for k, v in labels.items())
    return f"{parts} : datum.label" if parts else "datum.label"


def _js(text: str) -> str:
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def target_bars(progress: pd.DataFrame, *, goal_title: str, accepted_title: str,
                review_title: str) -> alt.Chart | None:
    """Per target: accepted and in-review items against the goal (a tick)."""
    data = progress[progress["problem"] == ""]
    if data.empty:
        return None
    long = data.melt(id_vars=["target", "goal"], value_vars=["accepted", "in_review"],
                     var_name="part", value_name="n")
    long["part_label"] = long["part"].map({"accepted": accepted_title, "in_review": review_title})
    bars = alt.Chart(long).mark_bar().encode(
        y=alt.Y("target:N", title=None), x=alt.X("sum(n):Q", title=goal_title),
        color=alt.Color("part_label:N", title=None,
                        scale=alt.Scale(domain=[accepted_title, review_title],
                                        range=["#0f766e", "#f59e0b"])),
        tooltip=["target", "part_label", "n", "goal"])
    goals = alt.Chart(data).mark_tick(color="#1f2933", thickness=2, size=22).encode(
        y="target:N", x="goal:Q", tooltip=["target", "goal"])
    return (bars + goals).properties(height=alt.Step(30))


def share_bars(groups: pd.DataFrame, *, share_title: str, goal: float | None = None,
               goal_value: str | None = None) -> alt.Chart | None:
    """Shares of the groups big enough to show (rule of five), with the target as a rule."""
    data = groups.dropna(subset=["share"])
    if data.empty:
        return None
    bars = alt.Chart(data).mark_bar(color="#0f766e").encode(
        y=alt.Y("value:N", sort="-x", title=None),
        x=alt.X("share:Q", title=share_title, axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        tooltip=["value", "people", alt.Tooltip("share:Q", format=".0%")])
    if goal is None:
        return bars
    rule = alt.Chart(pd.DataFrame({"goal": [goal], "value": [goal_value or ""]})).mark_rule(
        color="#b91c1c", strokeDash=[4, 3]).encode(x="goal:Q")
    return bars + rule


def rate_bars(table: pd.DataFrame, *, rate_title: str) -> alt.Chart | None:
    """Approval rate per language."""
    data = table.dropna(subset=["approval_rate"])
    if data.empty:
        return None
    return alt.Chart(data).mark_bar(color="#0f766e").encode(
        y=alt.Y("language:N", title=None),
        x=alt.X("approval_rate:Q", title=rate_title, axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        tooltip=["language", "votes", alt.Tooltip("approval_rate:Q", format=".0%"),
                 alt.Tooltip("alpha:Q", format=".2f")])


def amount_bars(table: pd.DataFrame, dimension: str, *, amount_title: str,
                status_labels: dict[str, str]) -> alt.Chart | None:
    """Amounts per value of `dimension`, stacked by status, one panel per unit."""
    statuses = [s for s in status_labels if s in table.columns]
    if table.empty or not statuses:
        return None
    long = table.melt(id_vars=[dimension, "unit"], value_vars=statuses, var_name="status",
                      value_name="amount")
    long = long[long["amount"] != 0]
    if long.empty:
        return None
    long["label"] = long["status"].map(status_labels)
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y(f"{dimension}:N", title=None), x=alt.X("sum(amount):Q", title=amount_title),
        color=alt.Color("status:N", scale=_status_scale(statuses),
                        legend=alt.Legend(title=None, labelExpr=_label_expr(status_labels))),
        row=alt.Row("unit:N", title=None),
        tooltip=["unit", "label", alt.Tooltip("amount:Q", format=",.2f")],
    ).resolve_scale(x="independent", y="independent")


PROGRESS_COLOURS = {"complete": "#0f766e", "started": "#f59e0b", "waiting": "#d1d5db"}


def progress_bars(table: pd.DataFrame, *, count_title: str, part_labels: dict[str, str],
                  mode_labels: dict[str, str]) -> alt.Chart | None:
    """Rating tasks per task type and language: complete (every rating wanted), started
    (some ratings) and waiting (none), stacked."""
    if table.empty:
        return None
    data = table.copy()
    data["entry"] = data["mode"].map(lambda m: mode_labels.get(m, m)) + " · " + data["language"].astype(str)
    data["started"] = data["rated"] - data["complete"]
    data["waiting"] = data["tasks"] - data["rated"]
    parts = list(PROGRESS_COLOURS)
    long = data.melt(id_vars=["entry"], value_vars=parts, var_name="part", value_name="n")
    long = long[long["n"] > 0]
    if long.empty:
        return None
    long["label"] = long["part"].map(part_labels)
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("entry:N", title=None), x=alt.X("sum(n):Q", title=count_title),
        color=alt.Color("part:N", scale=alt.Scale(domain=parts, range=list(PROGRESS_COLOURS.values())),
                        legend=alt.Legend(title=None, labelExpr=_label_expr(part_labels))),
        order=alt.Order("part_order:Q"),
        tooltip=["entry", "label", "n"],
    ).transform_calculate(part_order=f"indexof({parts!r}, datum.part)").properties(height=alt.Step(26))
