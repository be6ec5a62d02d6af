"""Organiser: invite people, change roles, set a password, record a withdrawal, and choose how
long a sign-in lasts unused."""

import streamlit as st

from jamii.collector import ui
from jamii.collector.admin import invite_link, invite_qr_png
from jamii.core.records import ROLES
from jamii.core.store import StoreError
from jamii.core.store._app_settings import IDLE_DAYS_RANGE
from jamii.web import session

store, viewer, tr = ui.guard("org_people")
st.title(tr("nav.org_people"))

people = store.people_overview(viewer.campaign.id if viewer.campaign else None)
st.dataframe(
    [{tr("admin.pseudonym"): p["pseudonym"], tr("admin.roles"): ", ".join(tr(f"role.{r}") for r in p["roles"]),
      tr("admin.items"): p["items"], tr("admin.withdrawn"): "✔" if p["withdrawn"] else ""} for p in people],
    hide_index=True, width="stretch")

st.subheader(tr("admin.invite_title"))
with st.form("op_invite_form"):
    roles = st.multiselect(tr("admin.roles"), ROLES, default=["contributor"], key="op_roles",
                           format_func=lambda r: tr(f"role.{r}"))
    name = st.text_input(tr("admin.contact_name"), key="op_name", max_chars=200)
    phone = st.text_input(tr("admin.contact_phone"), key="op_phone", max_chars=40)
    invite = st.form_submit_button(tr("admin.invite"), type="primary")
if invite:
    if not roles:
        st.error(tr("admin.need_role"))
    else:
        try:
            person, code = store.add_contributor(roles=roles, name=(name or "").strip() or None,
                                                 phone=(phone or "").strip() or None, actor_id=viewer.id)
        except StoreError as exc:
            ui.say([("error", str(exc))])
        else:
            st.success(tr("admin.invited", pseudonym=ui.plain(person.pseudonym)))
            st.code(code, language=None)
            link = invite_link(st.context.url, st.get_option("server.baseUrlPath"), code)
            if link:  # for a printed card: the QR code signs its holder in
                st.image(invite_qr_png(link), caption=link, width=220)
            st.caption(tr("admin.code_once"))

by_pseudonym = {p["pseudonym"]: p for p in people}
st.subheader(tr("admin.change_title"))
who = st.selectbox(tr("admin.person"), list(by_pseudonym), index=None, key="op_person")
if who:
    p = by_pseudonym[who]
    with st.form("op_roles_form"):
        new_roles = st.multiselect(tr("admin.roles"), ROLES, default=p["roles"], key=f"op_roles_{p['id']}",
                                   format_func=lambda r: tr(f"role.{r}"))
        save_roles = st.form_submit_button(tr("admin.save_roles"))
    if save_roles:
        if not new_roles:
            st.error(tr("admin.need_role"))
        elif p["id"] == viewer.id and "organiser" not in new_roles:
            st.error(tr("admin.keep_own_organiser"))
        else:
            try:
                store.set_roles(p["id"], new_roles, actor_id=viewer.id)
            except StoreError as exc:
                ui.say([("error", str(exc))])
            else:
                ui.flash([("success", tr("admin.saved"))])
                st.rerun()
    with st.form("op_password_form"):
        login = st.text_input(tr("sign_in.login"), key=f"op_login_{p['id']}", max_chars=120)
        password = st.text_input(tr("sign_in.password"), type="password", key=f"op_pw_{p['id']}")
        set_pw = st.form_submit_button(tr("admin.set_password"))
    if set_pw:
        if not (login or "").strip():
            st.error(tr("sign_in.empty_password"))
        else:
            try:
                store.set_password(p["id"], login.strip(), password or "", actor_id=viewer.id)
            except StoreError as exc:
                st.error(tr("admin.password_refused", reason=ui.plain(exc)))
            else:
                st.success(tr("admin.password_set"))
    if not p["withdrawn"]:
        with st.form("op_withdraw_form"):
            st.caption(tr("admin.withdraw_help"))
            reason = st.text_input(tr("mine.withdraw_reason"), key=f"op_wr_{p['id']}", max_chars=500)
            sure = st.checkbox(tr("admin.withdraw_confirm", pseudonym=ui.plain(who)),
                               key=f"op_ws_{p['id']}")
            go = st.form_submit_button(tr("mine.withdraw_button"))
        if go:
            if not sure:
                st.error(tr("mine.withdraw_tick"))
            else:
                try:
                    store.withdraw(p["id"], actor_id=viewer.id, reason=(reason or "").strip())
                except StoreError as exc:  # Forbidden, or a reason the store refuses
                    ui.say([("error", str(exc))])
                else:
                    ui.flash([("success", tr("admin.withdrawn_done", pseudonym=who))])
                    st.rerun()

st.subheader(tr("admin.signins_title"))
period = session.idle_period(store)
st.caption(tr(f"admin.idle_from_{period.source}", days=period.days, env=session.IDLE_DAYS_ENV))
low, high = IDLE_DAYS_RANGE
with st.form("op_idle_form"):
    days = st.number_input(tr("admin.idle_days"), min_value=low, max_value=high, step=1,
                           value=min(max(period.days, low), high), key="op_idle_days",
                           help=tr("admin.idle_help"))
    save_idle = st.form_submit_button(tr("admin.idle_save"))
if save_idle:
    try:
        session.set_idle_days(store, int(days), actor_id=viewer.id)
    except StoreError as exc:  # Forbidden, or a number of days the store refuses
        st.error(tr("admin.idle_refused", reason=ui.plain(exc)))
    else:
        ui.flash([("success", tr("admin.idle_saved", days=int(days)))])
        st.rerun()
