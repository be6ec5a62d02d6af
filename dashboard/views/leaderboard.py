"""Leaderboard (public): results folders ranked per metric with 95% intervals and signatures."""

import streamlit as st

from jamii.dashboard import charts, ui
from jamii.dashboard.leaderboard import DIMENSIONS, group_values, leaderboard, metrics_of, run_warnings

store, viewer, tr = ui.guard("leaderboard")

st.title(tr("dash.leaderboard.title"))
st.caption(tr("dash.leaderboard.intro"))

folder = ui.results_dir()
runs, skipped = ui.runs(folder)
if skipped:
    with st.expander(tr("dash.leaderboard.skipped", n=len(skipped)), icon=":material/warning:"):
        for s in skipped:
            st.text(f"{s.name}: {s.reason}")
if not runs:
    st.info(tr("dash.leaderboard.none_yet", folder=str(folder)))  # the operator's folder, in code
    st.stop()

datasets = sorted({r.dataset for r in runs})
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
    values = group_values(shown_runs, dim)
    value = c3.selectbox(tr("dash.leaderboard.value"), values, key="lb_value") if values else None

board = leaderboard(runs, group=(dim, value), dataset=dataset)
if board.mixed_datasets:
    st.warning(tr("dash.leaderboard.mixed", n=len(board.datasets),
                  versions=ui.plain(", ".join(board.datasets))),
               icon=":material/compare_arrows:")
if board.missing:
    st.caption(tr("dash.leaderboard.missing", runs=ui.plain(", ".join(board.missing))))
table = board.table
if table.empty:
    st.info(tr("dash.leaderboard.nothing"))
    st.stop()

view = table.drop(columns=["metric", "higher_is_better", "scale", "signature"])
st.dataframe(
    view, hide_index=True, width="stretch",
    column_config={
        "rank": st.column_config.NumberColumn(tr("dash.leaderboard.col_rank"), format="%d"),
        "model": tr("dash.leaderboard.col_model"),
        "revision": tr("dash.leaderboard.col_revision"),
        "run": tr("dash.leaderboard.col_run"),
        "dataset": tr("dash.leaderboard.col_dataset"),
        "label": tr("dash.leaderboard.col_metric"),
        "value": st.column_config.NumberColumn(tr("dash.leaderboard.col_value"), format="%.3f"),
        "ci_low": st.column_config.NumberColumn(tr("dash.leaderboard.col_low"), format="%.3f"),
        "ci_high": st.column_config.NumberColumn(tr("dash.leaderboard.col_high"), format="%.3f"),
        "n": st.column_config.NumberColumn(tr("dash.leaderboard.col_n"), format="%d"),
        "warning": tr("dash.leaderboard.col_warning"),
    })
if (table["warning"] != "").any():
    st.caption(":warning: " + tr("dash.leaderboard.small"))

metrics = [m for m in metrics_of(shown_runs) if m in set(table["metric"])]
tabs = st.tabs([ui.plain(board.metric(m)["label"].iloc[0]) for m in metrics])
for tab, metric in zip(tabs, metrics):
    rows = board.metric(metric)
    with tab:
        direction = ("dash.leaderboard.higher_better" if bool(rows["higher_is_better"].iloc[0])
                     else "dash.leaderboard.lower_better")
        scale = rows["scale"].iloc[0]
        title = f"{rows['label'].iloc[0]} ({scale}, {tr(direction)})" if scale else rows["label"].iloc[0]
        chart = charts.interval_chart(rows, value_title=title,
                                      model_title=tr("dash.leaderboard.chart_model"))
        if chart is not None:
            st.altair_chart(chart, width="stretch")

st.subheader(tr("dash.leaderboard.signatures"))
for run in shown_runs:
    with st.expander(tr("dash.leaderboard.signature_of", run=ui.plain(f"{run.name} · {run.model}"))):
        sig_rows = table[table["run"] == run.name][["label", "signature"]].drop_duplicates()
        st.code("\n".join(f"{r.label}: {r.signature}" for r in sig_rows.itertuples()) or "-",
                language=None, wrap_lines=True)
        warnings = run_warnings(run, (dim, value))
        if warnings:
            st.caption(tr("dash.leaderboard.warnings_of", run=ui.plain(run.name), n=len(warnings)))
            st.text("\n".join(warnings))
        st.caption(tr("dash.leaderboard.config"))
        st.json(run.config, expanded=False)
