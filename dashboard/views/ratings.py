"""Community ratings (organisers): progress per task type and language, gold-task accuracy per
rater (pseudonyms, so organisers only), and how much raters agree (Krippendorff's alpha)."""

import streamlit as st

from jamii.dashboard import charts, community, ui

store, viewer, tr = ui.guard("ratings")
campaign = viewer.campaign

st.title(tr("dash.ratings.title"))
st.caption(tr("dash.ratings.intro"))

# --- progress -----------------------------------------------------------------------------
st.subheader(tr("dash.ratings.progress"))
numbers = ui.rating_numbers(store, campaign.id, all_label=tr("dash.all"))
progress, agreement = numbers.value
if not numbers.fresh:
    st.caption(tr("dash.refreshing"))
modes = {m: tr(f"dash.ratings.mode_{m}") for m in ("direct", "pair", "gold")}
if progress.empty:
    st.info(tr("dash.ratings.no_tasks"))
else:
    settings = store.rating_settings(campaign.id)
    st.caption(tr("dash.ratings.wanted", n=settings["ratings_per_task"]))
    chart = charts.progress_bars(
        progress, count_title=tr("dash.ratings.tasks"), mode_labels=modes,
        part_labels={"complete": tr("dash.ratings.part_complete"), "started": tr("dash.ratings.part_started"),
                     "waiting": tr("dash.ratings.part_waiting")})
    if chart is not None:
        st.altair_chart(chart, width="stretch")
    st.dataframe(progress.assign(mode=progress["mode"].map(modes)), hide_index=True, width="stretch",
                 column_config={
                     "mode": tr("dash.ratings.col_mode"), "language": tr("dash.ratings.col_language"),
                     "tasks": tr("dash.ratings.col_tasks"), "rated": tr("dash.ratings.col_rated"),
                     "complete": tr("dash.ratings.col_complete"), "ratings": tr("dash.ratings.col_ratings"),
                     "share_complete": st.column_config.ProgressColumn(
                         tr("dash.ratings.col_share"), format="percent", min_value=0.0, max_value=1.0)})

# --- gold tasks ---------------------------------------------------------------------------
st.subheader(tr("dash.ratings.gold"))
st.caption(tr("dash.ratings.gold_intro", threshold=f"{community.GOLD_MIN_ACCURACY:.0%}",
              n=community.GOLD_MIN_TASKS))
gold = community.gold_accuracy(store.gold_results(campaign.id))
if gold.empty:
    st.info(tr("dash.ratings.no_gold"))
else:
    flagged = int(gold["flagged"].sum())
    if flagged:
        st.warning(tr("dash.ratings.gold_flagged", n=flagged), icon=":material/flag:")
    st.dataframe(gold, hide_index=True, width="stretch", column_config={
        "rater": tr("dash.ratings.col_rater"), "gold_rated": tr("dash.ratings.col_gold_rated"),
        "gold_correct": tr("dash.ratings.col_gold_correct"),
        "accuracy": st.column_config.NumberColumn(tr("dash.ratings.col_accuracy"), format="percent"),
        "flagged": st.column_config.CheckboxColumn(tr("dash.ratings.col_flagged"))})

# --- agreement ----------------------------------------------------------------------------
st.subheader(tr("dash.ratings.agreement"))
st.caption(tr("dash.ratings.agreement_intro"))
table = agreement.copy()
table["what"] = [tr("dash.ratings.what_pair") if w == "pair" else tr("dash.ratings.what_direct", criterion=c)
                 for w, c in zip(table["what"], table["criterion"])]
table["note"] = [tr(f"dash.ratings.note_{code}", default=note, units=units) if code else ""
                 for code, note, units in zip(table["note_code"], table["note"], table["units"])]
st.dataframe(table.drop(columns=["criterion", "note_code"]), hide_index=True, width="stretch", column_config={
    "what": tr("dash.ratings.col_what"), "language": tr("dash.ratings.col_language"),
    "ratings": tr("dash.ratings.col_ratings"), "tasks": tr("dash.ratings.col_tasks"),
    "units": tr("dash.ratings.col_units"),
    "alpha": st.column_config.NumberColumn(tr("dash.ratings.col_alpha"), format="%.2f"),
    "note": tr("dash.ratings.col_note")})
