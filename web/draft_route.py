"""`POST {base}/drafts`: the contribution forms' texts, sent by the page as they are typed.

Why a route and not a widget: a form's fields reach the script only on submit, and a text box
outside a form reaches it only when it loses focus. On a phone that is not enough: Streamlit
drops a text box's last words when a button is tapped straight after typing (streamlit#10007),
so the forms stay `st.form`, and a phone that locks or loses its connection mid-sentence has
sent nothing. So the page's script (`draft_script`) posts the typed texts here, a second after
the last key press and at once when the page is hidden; the store keeps them as the person's
draft (core/store/_drafts.py), which the form gives back after a reload.

Who may post: only the app's own pages (the Origin must name this host), for the person the
session cookie signs in (HttpOnly, so no script reads it; a post without it is refused), only
fields of the form named, within the store's draft limits.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_BODY = 512 * 1024
"""Bytes: the largest draft the store takes (200,000 characters) as JSON, with room for escapes."""
FORMS = re.compile(r"[a-z]{2,8}")


def draft_script(url: str, form: str, campaign_id: int, keys: list[str], submission_key: str) -> str:
    """The page's part: one listener for the whole document, installed once per page load
    (later runs only replace what it sends: the keys, the campaign, the submission key)."""
    cfg = json.dumps({"url": url, "form": form, "campaign": campaign_id, "keys": keys,
                      "key": submission_key})
    return f"""<script>
(() => {{
  const w = window;
  w.__jamiiDraft = {cfg};
  if (w.__jamiiDraftOn) return;
  w.__jamiiDraftOn = true;
  let timer = null;
  const box = key => document.querySelector(
      `.st-key-${{CSS.escape(key)}} textarea, .st-key-${{CSS.escape(key)}} input`);
  const send = (leaving) => {{
    clearTimeout(timer); timer = null;
    const cfg = w.__jamiiDraft, fields = {{_key: cfg.key}};
    let any = false;
    for (const key of cfg.keys) {{
      const el = box(key);
      if (el) {{ fields[key] = el.value; any = any || el.value.trim() !== ""; }}
    }}
    if (!any && !w.__jamiiDraftSent) return;
    w.__jamiiDraftSent = true;
    fetch(cfg.url, {{method: "POST", credentials: "same-origin", keepalive: leaving,
      headers: {{"Content-Type": "application/json"}},
      body: JSON.stringify({{form: cfg.form, campaign: cfg.campaign, fields}})}}).catch(() => {{}});
  }};
  document.addEventListener("input", e => {{
    const cfg = w.__jamiiDraft;
    if (!cfg.keys.some(key => e.target.closest(`.st-key-${{CSS.escape(key)}}`))) return;
    clearTimeout(timer);
    timer = setTimeout(() => send(false), 1000);
  }}, true);
  const leave = () => {{ if (timer) send(true); }};
  document.addEventListener("visibilitychange", () => {{ if (document.hidden) leave(); }});
  w.addEventListener("pagehide", leave);
}})();
</script>"""


def _refused(status: int, reason: str):
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(reason, status_code=status, headers={"Cache-Control": "no-store"})


async def save_typed_draft(request) -> Any:
    """204 when the texts were kept; 400/403 with a fixed reason otherwise (nothing echoed)."""
    from urllib.parse import urlsplit

    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response
    from streamlit import config

    from jamii.core.store import Forbidden, StoreError
    from jamii.web import session
    from jamii.web.session_cookie import is_https, set_session_cookie
    from jamii.web.ui import get_store

    origin = request.headers.get("origin") or ""
    host = request.headers.get("host") or ""
    if not origin or not host or urlsplit(origin).netloc != host:
        return _refused(403, "cross-origin draft refused")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return _refused(400, "a draft is at most 512 KB")
    try:
        posted = json.loads(body)
        form, campaign, fields = posted["form"], posted["campaign"], posted["fields"]
    except (ValueError, KeyError, TypeError):
        return _refused(400, "not a draft")
    if (not isinstance(form, str) or not FORMS.fullmatch(form) or isinstance(campaign, bool)
            or not isinstance(campaign, int) or not isinstance(fields, dict)
            or any(k != "_key" and not (isinstance(k, str) and k.startswith(f"{form}_")) for k in fields)
            or any(not isinstance(v, str) for v in fields.values())):
        return _refused(400, "not a draft")
    store = get_store()

    def keep() -> int | None:
        """The idle period the cookie is renewed for, or None when it signs nobody in."""
        days = session.idle_days(store)
        found = store.web_session_person(request.cookies.get(session.COOKIE), idle_days=days)
        if found is None:
            return None
        person = found[0]
        # empty texts only empty a draft there is: sent after a submit cleared it (a key press
        # a moment before the tap), they must not start a new, empty one
        typed = any(value.strip() for key, value in fields.items() if key != "_key")
        store.save_draft(person.id, campaign, form, fields, merge=True, create=typed,
                         actor_id=person.id)
        return days

    try:
        kept = await run_in_threadpool(keep)
    except (Forbidden, StoreError):
        return _refused(400, "this draft cannot be kept")
    if kept is None:
        return _refused(403, "sign in again to keep drafts")
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    # typing is use: the cookie lives on as the session does (`session_cookie`)
    set_session_cookie(response, request.cookies[session.COOKIE], https=is_https(request),
                       days=kept, base=config.get_option("server.baseUrlPath").strip("/"))
    return response
