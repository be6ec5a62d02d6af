"""Profile: optional self-description and how to be paid. Every field may stay empty."""

import streamlit as st

from jamii.collector import forms, ui
from jamii.collector.i18n import available_languages
from jamii.core.langtags import display_name
from jamii.core.records import COMPENSATION_METHODS
from jamii.core.store import StoreError
from jamii.web.i18n import autonym
from jamii.web.session import LANG_KEY

store, viewer, tr = ui.guard("profile")
person = viewer.person
campaign = viewer.campaign

st.title(tr("nav.profile"))
st.caption(tr("profile.intro"))

AGE_BANDS = ("", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("", "woman", "man", "non_binary", "__self__")
OTHER = "__other__"

dialects: list[str] = []
for tag in (campaign.languages if campaign else []):
    dialects += [d for d in (campaign.dialects or {}).get(tag, []) if d not in dialects]
offered = (campaign.compensation_options or {}).get("methods") if campaign else None
methods = [m for m in COMPENSATION_METHODS if not offered or m in offered or m == "volunteer"]
goods = list((campaign.compensation_options or {}).get("in_kind") or []) if campaign else []
known_langs = list(dict.fromkeys([*(campaign.languages if campaign else []), "sw", "sn", "yo",
                                  "am", "ha", "zu", "en", "fr", "ar", *person.languages_spoken]))

current_dialect = person.dialect or ""
dialect_default = current_dialect if current_dialect in dialects else (OTHER if current_dialect else "")
gender_default = person.gender if person.gender in GENDERS else ("__self__" if person.gender else "")

with st.form("profile_form"):
    d_choice = st.selectbox(tr("profile.dialect"), ["", *dialects, OTHER],
                            index=["", *dialects, OTHER].index(dialect_default), key="pf_dialect",
                            format_func=lambda d: tr("profile.not_said") if d == "" else
                            (tr("item.other_dialect") if d == OTHER else d))
    d_other = st.text_input(tr("item.other_dialect_name"), key="pf_dialect_other", max_chars=100,
                            value=current_dialect.removeprefix("other:").strip()
                            if dialect_default == OTHER else "")
    region = st.text_input(tr("profile.region"), value=person.region or "", key="pf_region",
                           max_chars=120)
    g_choice = st.selectbox(tr("profile.gender"), GENDERS, index=GENDERS.index(gender_default),
                            key="pf_gender", format_func=lambda g: tr("profile.not_said") if g == ""
                            else tr(f"gender.{g}"))
    g_self = st.text_input(tr("profile.gender_self"), key="pf_gender_self", max_chars=60,
                           value=person.gender if gender_default == "__self__" else "")
    age = st.selectbox(tr("profile.age_band"), AGE_BANDS,
                       index=AGE_BANDS.index(person.age_band) if person.age_band in AGE_BANDS else 0,
                       key="pf_age", format_func=lambda a: a or tr("profile.not_said"))
    spoken = st.multiselect(tr("profile.languages_spoken"), known_langs,
                            default=[t for t in person.languages_spoken if t in known_langs],
                            key="pf_langs", format_func=lambda t: display_name(t, tr.language))
    st.markdown(f"**{tr('profile.payment')}**")
    method = st.radio(tr("profile.method"), ["", *methods],
                      index=(["", *methods].index(person.compensation_method)
                             if person.compensation_method in methods else 0),
                      key="pf_method", format_func=lambda m: tr("profile.not_said") if m == ""
                      else tr(f"method.{m}"))
    choice = None
    if goods:
        choice = st.selectbox(tr("profile.in_kind_choice"), ["", *goods],
                              index=(["", *goods].index(person.compensation_choice)
                                     if person.compensation_choice in goods else 0),
                              key="pf_good", format_func=lambda g: g or tr("profile.not_said"))
    languages = available_languages()
    ui_lang = st.selectbox(tr("app.language"), languages,
                           index=languages.index(tr.language), key="pf_ui_lang", format_func=autonym)
    saved = st.form_submit_button(tr("profile.save"), type="primary", width="stretch")

if saved:
    values = {
        "dialect": forms.dialect_value(d_choice, d_other),
        "region": region,
        "gender": (g_self if g_choice == "__self__" else g_choice) or None,
        "age_band": age or None,
        "languages_spoken": spoken,
        "compensation_method": method or None,
        "compensation_choice": (choice or None) if method == "in_kind" else None,
        "ui_language": ui_lang,
    }
    problems = forms.profile_problems(values)
    if method == "in_kind" and goods and not choice:
        st.warning(tr("profile.choose_good"))
    if problems:
        for p in problems:
            ui.say([("error", forms.problem_text(tr, p))])
    else:
        try:
            store.update_profile(person.id, actor_id=viewer.id, **values)
        except StoreError as exc:
            ui.say([("error", str(exc))])
        else:
            st.session_state[LANG_KEY] = ui_lang
            st.query_params["lang"] = ui_lang
            ui.flash([("success", tr("profile.saved"))])
            st.rerun()
