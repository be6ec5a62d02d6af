"""Organiser: campaigns (create, edit), consent texts (new versions), rate card."""

import re

import streamlit as st

from jamii.collector import admin, ui
from jamii.core.langtags import display_name
from jamii.core.ratings import RATER_POLICIES
from jamii.core.records import ACTIVITIES, COMPENSATION_METHODS, CONSENT_SCOPES
from jamii.core.schema import ITEM_KINDS
from jamii.core.store import StoreError

store, viewer, tr = ui.guard("org_campaigns")
st.title(tr("nav.org_campaigns"))


def say_problems(problems) -> None:
    for key, values in problems:
        st.error(ui.plain(tr(key, **admin.problem_values(tr, values))))  # may quote what was typed


def write_or_say(problems, call, done: str) -> None:
    """Write through `call()` unless the form has problems; say what happened."""
    if problems:
        say_problems(problems)
        return
    try:
        call()
    except StoreError as exc:
        ui.say([("error", str(exc))])
    else:
        ui.flash([("success", done)])
        st.rerun()


def campaign_form(prefix: str, c=None) -> dict:
    items_t, rep_t = admin.targets_text(c.targets if c else {})
    v = {}
    v["name"] = st.text_input(tr("admin.name"), value=c.name if c else "", key=f"{prefix}_name")
    v["description"] = st.text_area(tr("admin.description"), value=c.description if c else "",
                                    key=f"{prefix}_description")
    v["languages"] = st.text_input(tr("admin.languages"), value=", ".join(c.languages) if c else "",
                                   key=f"{prefix}_languages", help=tr("admin.languages_help"))
    v["dialects"] = st.text_area(tr("admin.dialects"), value=admin.dialects_text(c.dialects) if c else "",
                                 key=f"{prefix}_dialects", help=tr("admin.dialects_help"))
    v["domains"] = st.text_input(tr("admin.domains"), value=", ".join(c.domains) if c else "",
                                 key=f"{prefix}_domains")
    v["item_kinds"] = st.multiselect(tr("admin.item_kinds"), ITEM_KINDS,
                                     default=list(c.item_kinds) if c else list(ITEM_KINDS),
                                     key=f"{prefix}_kinds", format_func=lambda k: tr(f"kind.{k}"))
    v["targets_items"] = st.text_area(tr("admin.targets_items"), value=items_t,
                                      key=f"{prefix}_targets", help=tr("admin.targets_help"))
    v["targets_representation"] = st.text_area(tr("admin.targets_representation"), value=rep_t,
                                               key=f"{prefix}_rep")
    rule = (c.acceptance_rule if c else None) or {}
    v["min_votes"] = st.number_input(tr("admin.min_votes"), 1, 20, int(rule.get("min_votes", 2)),
                                     key=f"{prefix}_min_votes")
    v["tie_reject_at"] = st.number_input(tr("admin.tie_reject_at"), 1, 40,
                                         int(rule.get("tie_reject_at", 3)), key=f"{prefix}_tie")
    v["consent_scopes"] = st.multiselect(tr("admin.consent_scopes"), CONSENT_SCOPES,
                                         default=list(c.consent_scopes) if c else list(CONSENT_SCOPES),
                                         key=f"{prefix}_scopes", format_func=lambda s: tr(f"scope.{s}"))
    comp = (c.compensation_options if c else None) or {}
    v["methods"] = st.multiselect(tr("admin.methods"), COMPENSATION_METHODS,
                                  default=list(comp.get("methods") or COMPENSATION_METHODS),
                                  key=f"{prefix}_methods", format_func=lambda m: tr(f"method.{m}"))
    v["in_kind"] = st.text_input(tr("admin.in_kind"), value=", ".join(comp.get("in_kind") or []),
                                 key=f"{prefix}_in_kind")
    return v


campaigns = store.campaigns()
tab_edit, tab_consent, tab_rates, tab_new = st.tabs(
    [tr("admin.tab_campaign"), tr("admin.tab_consent"), tr("admin.tab_rates"), tr("admin.tab_new")])

camp = viewer.campaign
with tab_edit:
    if camp is None:
        st.info(tr("admin.no_campaigns"))
    else:
        st.caption(ui.plain(f"{camp.slug} · {camp.licence_plan}"))
        with st.form("org_edit_form"):
            values = campaign_form(f"ce{camp.id}", camp)
            save = st.form_submit_button(tr("admin.save"), type="primary")
        if save:
            fields, problems = admin.campaign_fields(values)
            if problems:
                say_problems(problems)
            else:
                try:
                    store.update_campaign(camp.id, actor_id=viewer.id, **fields)
                except StoreError as exc:
                    ui.say([("error", str(exc))])
                else:
                    ui.flash([("success", tr("admin.saved"))])
                    st.rerun()

        st.subheader(tr("admin.ratings_title"))
        now = store.rating_settings(camp.id)
        with st.form("org_rating_form"):
            raters = st.radio(tr("admin.raters"), RATER_POLICIES, key=f"rs{camp.id}_raters",
                              index=RATER_POLICIES.index(now["raters"]),
                              format_func=lambda p: tr(f"admin.raters_{p}"))
            cap = st.number_input(tr("admin.daily_cap"), 0, 10_000, int(now["daily_cap"] or 0),
                                  key=f"rs{camp.id}_cap", help=tr("admin.daily_cap_help"))
            wanted = st.number_input(tr("admin.ratings_per_task"), 1, 50, int(now["ratings_per_task"]),
                                     key=f"rs{camp.id}_wanted")
            save_ratings = st.form_submit_button(tr("admin.ratings_save"), type="primary")
        if save_ratings:
            settings, problems = admin.rating_settings(
                {"raters": raters, "daily_cap": cap, "ratings_per_task": wanted})
            write_or_say(problems,
                         lambda: store.set_rating_settings(camp.id, actor_id=viewer.id, **settings),
                         tr("admin.ratings_saved"))

with tab_consent:
    if camp is not None:
        st.caption(tr("admin.consent_current", version=ui.plain(camp.current_consent_version or "-")))
        texts = store.consent_texts(camp.id)
        _, missing, fallback = admin.consent_languages(camp.languages, camp.current_consent_version, texts)
        if missing and fallback:
            names = ", ".join(display_name(m, tr.language) for m in missing)
            st.warning(tr("admin.consent_missing", languages=ui.plain(names),
                          fallback=ui.plain(display_name(fallback, tr.language))), icon=":material/translate:")
        elif camp.current_consent_version:
            st.caption(tr("admin.consent_every_language"))
        for ct in reversed(texts):
            with st.expander(ui.plain(f"v{ct.version} · {ct.language} · {ct.created_at:%Y-%m-%d}")):
                ui.show_text(ct.text)
        with st.form("org_consent_form"):
            version = st.text_input(tr("admin.consent_version"), key="oc_version", max_chars=32)
            language = st.text_input(tr("admin.consent_language"), key="oc_language", max_chars=35)
            text = st.text_area(tr("admin.consent_text"), key="oc_text", height=240)
            current = st.checkbox(tr("admin.consent_make_current"), value=True, key="oc_current")
            add = st.form_submit_button(tr("admin.consent_add"), type="primary")
        if add:
            problems = admin.consent_problems(version, language, text)
            if problems:
                say_problems(problems)
            else:
                try:
                    store.add_consent_text(camp.id, version.strip(), language.strip(), text,
                                           make_current=current, actor_id=viewer.id)
                except StoreError as exc:
                    ui.say([("error", str(exc))])
                else:
                    ui.flash([("success", tr("admin.consent_added", version=version.strip()))])
                    st.rerun()

with tab_rates:
    if camp is not None:
        st.caption(tr("admin.rates_help"))
        cards = store.rate_cards(camp.id)
        now = cards[0].rates if cards else {}
        if cards:
            st.caption(tr("admin.rates_current", version=cards[0].version))
        with st.form("org_rates_form"):
            entered = {}
            for act in ACTIVITIES:
                r = now.get(act) or {}
                st.markdown(f"**{tr(f'activity.{act}')}**")
                a, u = st.columns(2)
                good, qty = next(iter((r.get("in_kind") or {}).items()), ("", ""))
                entered[act] = {
                    "amount": a.text_input(tr("admin.amount"), value=r.get("amount", ""), key=f"or_{act}_amount"),
                    "unit": u.text_input(tr("admin.unit"), value=r.get("unit", ""), key=f"or_{act}_unit"),
                    "in_kind_good": a.text_input(tr("admin.in_kind_good"), value=good, key=f"or_{act}_good"),
                    "in_kind_qty": u.text_input(tr("admin.in_kind_qty"), value=qty, key=f"or_{act}_qty"),
                }
            set_rates = st.form_submit_button(tr("admin.rates_save"), type="primary")
        if set_rates:
            rates, problems = admin.rate_card(entered)
            if problems:
                say_problems(problems)
            else:
                try:
                    card = store.set_rate_card(camp.id, rates, actor_id=viewer.id)
                except StoreError as exc:
                    ui.say([("error", str(exc))])
                else:
                    ui.flash([("success", tr("admin.rates_saved", version=card.version))])
                    st.rerun()

with tab_new:
    with st.form("org_new_form"):
        slug = st.text_input(tr("admin.slug"), key="on_slug", max_chars=64, help=tr("admin.slug_help"))
        values = campaign_form("on")
        create = st.form_submit_button(tr("admin.create"), type="primary")
    if create:
        fields, problems = admin.campaign_fields(values)
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", (slug or "").strip()):
            problems.insert(0, ("admin.bad_slug", {}))
        if problems:
            say_problems(problems)
        else:
            try:
                made = store.create_campaign(slug.strip(), actor_id=viewer.id, **fields)
            except StoreError as exc:
                ui.say([("error", str(exc))])
            else:
                st.session_state["campaign_id"] = made.id
                ui.flash([("success", tr("admin.created", slug=made.slug))])
                st.rerun()
