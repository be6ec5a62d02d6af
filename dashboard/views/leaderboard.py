"""Leaderboard (public): automatic metrics, judge grades and community scores side by side, each
with its 95% interval, the number of votes, a chart, and the answers and signature behind it.

Public: it shows aggregate scores of models only, never who rated (no pseudonym, no comment).
The ratings are those of the viewer's campaign, else of the first campaign.
"""

import streamlit as st

from jamii.dashboard import charts, ui
from jamii.dashboard.community import ARENA, DIRECT_PREFIX, ROW_NOTES, SAFETY, sample_answers
from jamii.dashboard.leaderboard import DIMENSIONS, group_values, run_warnings

store, viewer, tr = ui.guard("leaderboard")

st.title(tr("dash.leaderboard.title"))
st.caption(tr("dash.leaderboard.intro"))
st.caption(tr("dash.leaderboard.community_intro"))

folder = ui.results_dir()
runs, skipped = ui.runs(folder)
campaign = viewer.campaign
rated = ui.rated_values(store, campaign.id if campaign else None)  # filter choices, not the ratings
if skipped:
    with st.expander(tr("dash.leaderboard.skipped", n=len(skipped)), icon=":material/warning:"):
        for s in skipped:
            st.text(f"{s.name}: {s.reason}")
if not runs:
    st.info(tr("dash.leaderboard.none_yet", folder=str(folder)))  # the operator's folder, in code
    if not rated["dataset"]:
        st.stop()  # with community ratings, their scores still show below

datasets = sorted({r.dataset for r in runs} | set(rated["dataset"]))
c1, c2, c3 = st.columns(3)
dataset = c1.selectbox(tr("dash.leaderboard.dataset"), [None, *datasets], key="lb_dataset",
                       format_func=lambda d: tr("dash.leaderboard.all_datasets") if d is None else d)
shown_runs = [r for r in runs if dataset in (None, r.dataset)]
dims = ["overall", *DIMENSIONS]
dim = c2.selectbox(tr("dash.leaderboard.group"), dims, key="lb_dim",
                   format_func=lambda d: tr("dash.leaderboard.overall") if d == "overall"
                   else tr(f"dash.leaderboard.dim_{d}"))
value = None
if dim != "overall":
    rated_in = rated.get(dim, ["contextual"] if rated["dataset"] else [])  # only contextual items are rated
    values = sorted(set(group_values(shown_runs, dim)) | set(rated_in))
    value = c3.selectbox(tr("dash.leaderboard.value"), values, key="lb_value") if values else None
group = (dim, value)


def _community_text(metric: str, kind: str, default: str) -> str:
    """Community scores' labels and scales in the viewer's language (the logic module's are
    English); the results folders' own labels are shown as they are."""
    if metric == ARENA:
        return tr(f"dash.leaderboard.{kind}_arena")
    if metric == SAFETY:
        return tr(f"dash.leaderboard.{kind}_safety")
    if metric.startswith(DIRECT_PREFIX):
        return tr(f"dash.leaderboard.{kind}_direct", criterion=metric[len(DIRECT_PREFIX):])
    return default


def _long(board):
    """The board as one row per model and score, labels in the viewer's language."""
    out = board.long()
    out["label"] = [_community_text(m, "metric", v) for m, v in zip(out["metric"], out["label"])]
    out["scale"] = [_community_text(m, "scale", v) for m, v in zip(out["metric"], out["scale"])]
    return out


def _show(slot, table) -> None:
    sources = {s: tr(f"dash.leaderboard.source_{s}") for s in ("automatic", "judge", "community")}
    shown = table.assign(source=table["source"].map(sources), run=table["run"].fillna(""))
    view = shown[["rank", "model", "revision", "run", "dataset", "source", "label", "value", "ci_low",
                  "ci_high", "n", "warning", "note"]]
    slot.dataframe(
        view, hide_index=True, width="stretch",
        column_config={
            "rank": st.column_config.NumberColumn(tr("dash.leaderboard.col_rank"), format="%d"),
            "model": tr("dash.leaderboard.col_model"),
            "revision": tr("dash.leaderboard.col_revision"),
            "run": tr("dash.leaderboard.col_run"),
            "dataset": tr("dash.leaderboard.col_dataset"),
            "source": tr("dash.leaderboard.col_source"),
            "label": tr("dash.leaderboard.col_metric"),
            "value": st.column_config.NumberColumn(tr("dash.leaderboard.col_value"), format="%.3f"),
            "ci_low": st.column_config.NumberColumn(tr("dash.leaderboard.col_low"), format="%.3f"),
            "ci_high": st.column_config.NumberColumn(tr("dash.leaderboard.col_high"), format="%.3f"),
            "n": st.column_config.NumberColumn(tr("dash.leaderboard.col_n"), format="%d"),
            "warning": tr("dash.leaderboard.col_warning"),
            "note": tr("dash.leaderboard.col_note"),
        })


# The automatic scores first: the community's fit (a thousand bootstrap rounds per board) takes
# seconds on a large campaign, and the table should not wait for it.
slot, waiting = st.empty(), st.empty()
cid = campaign.id if campaign else None
if runs and rated["dataset"] and not ui.community_kept(store, cid, folder, group, dataset):
    quick = _long(ui.community_board(store, None, folder, group, dataset))
    if not quick.empty:
        _show(slot, quick)
        waiting.caption(tr("dash.leaderboard.community_computing"))
snap = ui.community_snapshot(store, cid, folder, group, dataset)
board = snap.value
waiting.empty()
if not snap.fresh:
    st.caption(tr("dash.refreshing"))
if len(board.tables) > 1:
    st.warning(tr("dash.leaderboard.mixed", n=len(board.tables),
                  versions=ui.plain(", ".join(t.dataset for t in board.tables))),
               icon=":material/compare_arrows:")
if board.missing:
    st.caption(tr("dash.leaderboard.missing", runs=ui.plain(", ".join(board.missing))))
table = _long(board)
if table.empty:
    slot.empty()
    st.info(tr("dash.leaderboard.nothing"))
    st.stop()
_show(slot, table)
if (table["warning"] != "").any():
    st.caption(":warning: " + tr("dash.leaderboard.small"))
for t in board.tables:
    if t.votes or t.ratings:
        st.caption(tr("dash.leaderboard.community_counts", dataset=ui.plain(t.dataset), votes=t.votes,
                      ratings=t.ratings))
    if t.pairwise_warning:
        st.caption(":warning: " + ui.plain(t.pairwise_warning))
    for r in t.rows:  # how the results were matched to ratings, said in the viewer's language
        for code, values in r.note_codes:
            st.caption(tr(f"dash.leaderboard.note_{code}", default=ROW_NOTES[code],
                          **{k: ui.plain(str(v)) for k, v in values.items()}) + f" ({ui.plain(r.model)})")

metrics = list(dict.fromkeys(table["metric"]))
labels = table.drop_duplicates("metric").set_index("metric")["label"]
# one chart, for the score chosen: a chart per score (ten or more with community scores) kept a
# phone's browser drawing for seconds before the table above was usable
metric = st.selectbox(tr("dash.leaderboard.chart_metric"), metrics, key="lb_metric",
                      format_func=lambda m: str(labels[m]))  # options are text, never Markdown
rows = table[table["metric"] == metric]
direction = ("dash.leaderboard.higher_better" if bool(rows["higher_is_better"].iloc[0])
             else "dash.leaderboard.lower_better")
scale, label = rows["scale"].iloc[0], labels[metric]
title = f"{label} ({scale}, {tr(direction)})" if scale else f"{label} ({tr(direction)})"
if metric == ARENA:
    st.caption(tr("dash.leaderboard.arena_help"))
chart = charts.interval_chart(rows, value_title=title, model_title=tr("dash.leaderboard.chart_model"))
if chart is not None:
    st.altair_chart(chart, width="stretch")

agreements = [(t.dataset, a) for t in board.tables for a in t.judge_agreement]
if agreements:
    st.subheader(tr("dash.leaderboard.judge_title"))
    st.caption(tr("dash.leaderboard.judge_intro"))
    st.dataframe(
        [{"dataset": d, "language": a.language, "tau": a.tau, "p_value": a.p_value, "models": a.n_models,
          "basis": tr(f"dash.leaderboard.basis_{a.basis}") if a.basis else "", "note": a.note}
         for d, a in agreements],
        hide_index=True, width="stretch",
        column_config={"dataset": tr("dash.leaderboard.col_dataset"),
                       "language": tr("dash.leaderboard.dim_language"),
                       "tau": st.column_config.NumberColumn(tr("dash.leaderboard.col_tau"), format="%.2f"),
                       "p_value": st.column_config.NumberColumn(tr("dash.leaderboard.col_p"), format="%.3f"),
                       "models": tr("dash.leaderboard.col_models"),
                       "basis": tr("dash.leaderboard.col_basis"), "note": tr("dash.leaderboard.col_note")})

# every number: its signature, and the answers behind it
st.subheader(tr("dash.leaderboard.details"))
entries = list(table.itertuples(index=False))


def _entry(i: int) -> str:
    e = entries[i]
    value = "-" if e.value is None or e.value != e.value else f"{e.value:.3f}"
    return ui.plain(f"{e.model}{f' · {e.run}' if e.run else ''} · {e.label}: {value} ({e.dataset})")


pick = st.selectbox(tr("dash.leaderboard.details_pick"), range(len(entries)), key="lb_detail",
                    format_func=_entry)
if pick is not None:
    e = entries[pick]
    low = "-" if e.ci_low is None or e.ci_low != e.ci_low else f"{e.ci_low:.3f}"
    high = "-" if e.ci_high is None or e.ci_high != e.ci_high else f"{e.ci_high:.3f}"
    st.caption(tr("dash.leaderboard.details_interval", low=low, high=high, n=int(e.n)))
    st.caption(tr("dash.leaderboard.signature"))
    st.code(e.signature or "-", language=None, wrap_lines=True)
    run = next((r for r in runs if r.name == e.run), None)
    community = e.source == "community"
    answers = sample_answers(run, group, community=community) if run is not None else []
    with st.expander(tr("dash.leaderboard.answers_community" if community else "dash.leaderboard.answers"),
                     expanded=True):
        if not answers:
            st.caption(tr("dash.leaderboard.no_answers"))
        for a in answers:
            st.caption(ui.plain(f"{a['id']} · {a['language']}"))
            st.text(a["prompt"])
            st.text(f"→ {a['answer']}")
            if a["reference"]:
                st.caption(tr("dash.leaderboard.reference"))
                st.text(a["reference"])

st.subheader(tr("dash.leaderboard.signatures"))
for run in shown_runs:
    with st.expander(tr("dash.leaderboard.signature_of", run=ui.plain(f"{run.name} · {run.model}"))):
        sig_rows = table[table["run"] == run.name][["label", "signature"]].drop_duplicates()
        st.code("\n".join(f"{r.label}: {r.signature}" for r in sig_rows.itertuples()) or "-",
                language=None, wrap_lines=True)
        warnings = run_warnings(run, group)
        if warnings:
            st.caption(tr("dash.leaderboard.warnings_of", run=ui.plain(run.name), n=len(warnings)))
            st.text("\n".join(warnings))
        st.caption(tr("dash.leaderboard.config"))
        st.json(run.config, expanded=False)
