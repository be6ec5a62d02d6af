"""API tokens: what lets a field laptop push its bundle over the network (`jamii kit push`).

    token_id, token = central.issue_api_token(campaign.id, "Kitui laptop", actor_id=organiser.id)
    central.api_token_campaign(token)          # the upload route: -> (campaign id, issuer id)
    central.revoke_api_token(token_id, actor_id=organiser.id)
    central.api_tokens(campaign.id, actor_id=organiser.id)

A token is 256 random bits (`secrets.token_urlsafe(32)`), shown once to the organiser who asks
for it and kept only as its SHA-256 (nothing to brute-force, so a plain hash is enough). It is
scoped to one campaign: the upload route merges only bundles of that campaign's kits, and the
merge acts as the organiser who issued the token. So it must name a person (the operator alone
cannot issue one), and it stops working when it is revoked or when that person is no longer an
organiser (roles reduced, withdrawn): a token is only ever as good as whoever vouched for it.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select

from jamii.core import checks
from jamii.core.records import ApiToken, Campaign, Contributor, utcnow
from jamii.core.store._base import Actor, StoreBase, StoreError, _actor, _get, _sha256

MAX_TOKEN_CHARS = 128
"""Tokens are 43 characters; anything much longer is not one of ours (and is not hashed)."""


def token_hash(token: object) -> str | None:
    """The SHA-256 of a token as received in a request, or None for junk."""
    if not isinstance(token, str) or not 20 <= len(token) <= MAX_TOKEN_CHARS or not token.isascii():
        return None
    return _sha256(token)


class ApiTokenStore(StoreBase):
    def issue_api_token(self, campaign_id: int, note: str = "", *, actor_id: Actor) -> tuple[int, str]:
        """A new token for pushing bundles of the campaign's kits: (its id, the token). The
        token is returned this once and never kept. A named organiser only; audited."""
        problems = [p for p in checks.check_label("note", note, max_chars=200) if p.blocking]
        if problems:
            raise StoreError(problems[0].message)
        token = secrets.token_urlsafe(32)
        with self.write() as s:
            actor = _actor(s, actor_id, "issue an API token (the merges it brings act as you)",
                           operator=False)
            _get(s, Campaign, campaign_id)
            record = ApiToken(campaign_id=campaign_id, token_sha256=_sha256(token),
                              note=note or "", created_by=actor.id)
            s.add(record)
            s.flush()
            self._audit(s, actor_id, "api_token.issue", "api_token", record.id,
                        campaign_id=campaign_id)
            return record.id, token

    def revoke_api_token(self, token_id: int, *, actor_id: Actor) -> bool:
        """Stop a token working from its next request (an upload under way stops there).
        True if it was revoked now, False if it already was. Organisers only; audited."""
        with self.write() as s:
            actor = _actor(s, actor_id, "revoke an API token")
            record = _get(s, ApiToken, token_id)
            if record.revoked_at is not None:
                return False
            record.revoked_at = utcnow()
            record.revoked_by = actor.id if actor is not None else None
            self._audit(s, actor_id, "api_token.revoke", "api_token", record.id,
                        campaign_id=record.campaign_id)
            return True

    def api_tokens(self, campaign_id: int, *, actor_id: Actor) -> list[ApiToken]:
        """The campaign's tokens, newest first, revoked ones included (never the tokens
        themselves: only their hashes are kept). Organisers only."""
        with self.read() as s:
            _actor(s, actor_id, "list API tokens")
            return list(s.scalars(select(ApiToken).where(ApiToken.campaign_id == campaign_id)
                                  .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))

    def api_token_campaign(self, token: object) -> tuple[int, int] | None:
        """(campaign id, issuer id) for a token that works: known, not revoked, and issued by
        someone who is still an organiser and has not withdrawn. None otherwise, whatever the
        reason (the route says no more than that to whoever asks)."""
        digest = token_hash(token)
        if digest is None:
            return None
        with self.read() as s:
            found = s.execute(select(ApiToken.campaign_id, ApiToken.revoked_at, Contributor)
                              .join(Contributor, Contributor.id == ApiToken.created_by)
                              .where(ApiToken.token_sha256 == digest)).first()
        if found is None:
            return None
        campaign_id, revoked_at, issuer = found
        if revoked_at is not None or issuer.withdrawn_at is not None \
                or "organiser" not in (issuer.roles or ()):
            return None
        return campaign_id, issuer.id

