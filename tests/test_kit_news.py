"""What changed centrally, carried back to a field kit (issue 14: the central "answers a push
with what changed centrally since the kit was made ... which the field store applies").

A central PostgreSQL store (this module's `store`) and a field SQLite store made from its kit:
a withdrawal, a new consent version, a rate change, a role taken away and new central items
reach the field by a news file (`jamii kit news` / `jamii kit update`) and act there as the same
change made there would; the field's later work merges centrally against the new texts and
rates. News twice changes nothing; news of another kit, a changed or forged file, stale news
and malformed values are refused with nothing changed; no personal data is in the news.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from jamii.cli import cli
from jamii.core.kit.bundles import merge_bundle, write_bundle
from jamii.core.kit.news import apply_news_file, sign_news, verify_news, write_news
from jamii.core.records import CompensationEntry, Draft, RateCard
from jamii.core.store import OPERATOR, DuplicateItem, Forbidden, Store, StoreError
from tests.support.pg import pg_schema_url
from tests.test_kit_create import ANSWER, central  # noqa: F401 - fixture
from tests.test_kit_field_trip import kit_out, qa, write
from tests.test_store_actors import snapshot


@pytest.fixture
def store(tmp_path):
    """The central store: PostgreSQL, as a campaign's server runs it."""
    url, drop = pg_schema_url()
    s = Store(url, tmp_path / "audio")
    yield s
    s.close()
    drop()


def carry(store: Store, field: Store, tmp_path: Path, name: str = "k.news"):
    """`jamii kit news` centrally, the file carried, `jamii kit update` in the field."""
    write_news(store, field.field_kit(), tmp_path / name, actor_id=OPERATOR)
    return apply_news_file(field, tmp_path / name, actor_id=OPERATOR)


def test_a_central_withdrawal_reaches_the_field_and_they_can_no_longer_contribute(central, tmp_path):
    store, camp, people = central
    amina, code = people["amina"]
    with kit_out(store, camp.id, tmp_path) as field:
        here = field.sign_in_with_code(code)
        before = write(field, camp.id, here.id, "Mahindi hupandwa lini Kitui?", "w-1")
        field.save_draft(here.id, camp.id, "pr", {"pr_prompt": "Nusu ya swali"}, actor_id=here.id)
        store.withdraw(amina.id, actor_id=amina.id, reason="")  # centrally, while the kit is out

        report = carry(store, field, tmp_path)
        assert report.withdrawn == [amina.uid] and not report.conflicts
        assert field.contributor(here.id).withdrawn_at is not None
        assert field.active_consent(here.id, camp.id) is None
        with field.read() as s:  # unsent work goes, as locally
            assert not s.query(Draft).filter(Draft.contributor_id == here.id).count()
        with pytest.raises(Forbidden):
            write(field, camp.id, here.id, "Mtama hupandwa lini?", "w-2")
        assert field.sign_in_with_code(code) is None or \
            field.sign_in_with_code(code).withdrawn_at is not None
        write_bundle(field, tmp_path / "k.bundle", actor_id=OPERATOR)
    report = merge_bundle(store, tmp_path / "k.bundle", actor_id=OPERATOR)
    assert report.added["withdrawals"] == 0 and report.retries["withdrawals"] == 1
    assert [w["public_id"] for w in report.withdrawn_authors] == [before.public_id]


def test_a_new_consent_version_reaches_the_field_and_its_consents_merge(central, tmp_path):
    store, camp, people = central
    with kit_out(store, camp.id, tmp_path) as field:
        # the field made a text of its own meanwhile: the central one cannot take its id there
        field.add_consent_text(camp.id, "1-kitui", "sw", "Nakubali, kama kijijini.",
                               make_current=False, actor_id=OPERATOR)
        v2 = store.add_consent_text(camp.id, "2", "sw", "Nakubali toleo la pili.", actor_id=OPERATOR)
        amina = field.sign_in_with_code(people["amina"][1])
        assert field.active_consent(amina.id, camp.id) is not None

        report = carry(store, field, tmp_path)
        assert report.consent_texts_added == [{"version": "2", "language": "sw"}]
        assert "current_consent_version" in report.campaign_fields
        assert field.active_consent(amina.id, camp.id) is None  # asked at the next visit
        shown = field.consent_text(camp.id, "sw")
        assert (shown.version, shown.text, shown.sha256) == ("2", v2.text, v2.sha256)
        field.accept_consent(amina.id, shown.id, {"open_publication": True})
        item = write(field, camp.id, amina.id, "Kunde hupandwa lini?", "c-1")
        newcomer, _ = field.add_contributor(roles=["contributor"], pseudonym="mgeni-v2",
                                            actor_id=OPERATOR)
        field.accept_consent(newcomer.id, shown.id, {"open_publication": True})
        write_bundle(field, tmp_path / "k.bundle", actor_id=OPERATOR)

    report = merge_bundle(store, tmp_path / "k.bundle", actor_id=OPERATOR)
    assert not report.conflicts, report.conflicts
    assert report.added["consents"] == 2 and report.added["items"] == 1
    merged = store.active_consent(people["amina"][0].id, camp.id)
    assert merged is not None and merged.version == "2" and merged.consent_text_id == v2.id
    assert store.item(item.public_id).consent_id == merged.id
    mgeni = store.contributor_by_pseudonym("mgeni-v2")
    assert store.active_consent(mgeni.id, camp.id).consent_text_id == v2.id


def test_a_rate_change_reaches_the_field_and_its_entries_merge_at_the_new_rate(central, tmp_path):
    store, camp, people = central
    old = store.rate_card(camp.id)
    with kit_out(store, camp.id, tmp_path) as field:
        amina = field.sign_in_with_code(people["amina"][1])
        reviewer = field.sign_in_with_password("mkaguzi", "a long reviewer secret")
        first = write(field, camp.id, amina.id, "Nyuki hufugwa vipi?", "r-1")
        field.record_review(first.id, reviewer.id, "approve")  # at the kit's rate: 10 KES
        new = store.set_rate_card(camp.id, {"review": {"amount": 25, "unit": "KES"}},
                                  actor_id=OPERATOR)
        report = carry(store, field, tmp_path)
        assert report.rate_cards_added == [new.version]
        second = write(field, camp.id, amina.id, "Asali huvunwa lini?", "r-2")
        field.record_review(second.id, reviewer.id, "approve")
        promised = sorted((e.rate_card_id, e.amount) for e in field.ledger(camp.id))
        assert promised == [(old.id, Decimal(10)), (new.id, Decimal(25))]
        write_bundle(field, tmp_path / "k.bundle", actor_id=OPERATOR)
    report = merge_bundle(store, tmp_path / "k.bundle", actor_id=OPERATOR)
    assert not report.conflicts, report.conflicts
    owed = sorted((e.rate_card_id, e.amount) for e in store.earnings(people["reviewer"].id))
    assert owed == promised


def test_a_rate_card_never_sent_to_the_kit_is_not_the_fields(central, tmp_path):
    """A laptop naming a central card made after its kit, which no news brought it, is listed."""
    store, camp, people = central
    with kit_out(store, camp.id, tmp_path) as field:
        amina = field.sign_in_with_code(people["amina"][1])
        reviewer = field.sign_in_with_password("mkaguzi", "a long reviewer secret")
        field.record_review(write(field, camp.id, amina.id, "Nyuki?", "n-1").id, reviewer.id,
                            "approve")
        new = store.set_rate_card(camp.id, {"review": {"amount": 10, "unit": "KES"}},
                                  actor_id=OPERATOR)
        with field.write() as s:  # a hand-edited laptop store: the card copied in by hand
            s.add(RateCard(id=new.id, campaign_id=camp.id, version=new.version, rates=new.rates))
            s.flush()
            for e in s.query(CompensationEntry):
                e.rate_card_id = new.id
        write_bundle(field, tmp_path / "k.bundle", actor_id=OPERATOR)
    report = merge_bundle(store, tmp_path / "k.bundle", actor_id=OPERATOR)
    assert [c["table"] for c in report.conflicts] == ["ledger"]


def test_roles_settings_and_new_central_items_reach_the_field(central, tmp_path):
    store, camp, people = central
    with kit_out(store, camp.id, tmp_path) as field:
        store.set_roles(people["reviewer"].id, ["contributor"], actor_id=OPERATOR)
        store.update_campaign(camp.id, domains=["agriculture", "health"], actor_id=OPERATOR)
        content = qa("Ng'ombe hukamuliwa mara ngapi kwa siku?")
        store.submit_item(campaign_id=camp.id, author_id=people["amina"][0].id,
                          kind="prompt_response", language="sw", content=content,
                          client_key="central-2")
        report = carry(store, field, tmp_path)
        assert report.roles_changed == [{"uid": people["reviewer"].uid, "before": ["reviewer"],
                                         "after": ["contributor"]}]
        assert report.campaign_fields == ["domains"] and report.known_content_added == 1
        assert field.campaign(camp.id).domains == ["agriculture", "health"]
        amina = field.sign_in_with_code(people["amina"][1])
        reviewer = field.sign_in_with_password("mkaguzi", "a long reviewer secret")
        item = write(field, camp.id, amina.id, "Kondoo hunyolewa lini?", "s-1")
        with pytest.raises(Forbidden):
            field.record_review(item.id, reviewer.id, "approve")
        with pytest.raises(DuplicateItem):
            write(field, camp.id, amina.id, content["prompt"], "s-2")


def test_news_twice_changes_nothing_and_stale_news_is_refused(central, tmp_path):
    store, camp, people = central
    with kit_out(store, camp.id, tmp_path) as field:
        store.withdraw(people["amina"][0].id, actor_id=OPERATOR, reason="")
        store.set_rate_card(camp.id, {"review": {"amount": 12, "unit": "KES"}}, actor_id=OPERATOR)
        store.add_consent_text(camp.id, "2", "sw", "Toleo la pili.", actor_id=OPERATOR)
        write_news(store, field.field_kit(), tmp_path / "old.news", actor_id=OPERATOR)
        first = apply_news_file(field, tmp_path / "old.news", actor_id=OPERATOR)
        assert first.changed
        after = snapshot(field)
        again = apply_news_file(field, tmp_path / "old.news", actor_id=OPERATOR)
        assert not again.changed and not again.conflicts
        assert snapshot(field) == after
        store.set_roles(people["reviewer"].id, ["contributor"], actor_id=OPERATOR)
        assert carry(store, field, tmp_path, "new.news").roles_changed
        after = snapshot(field)
        with pytest.raises(StoreError, match="before news this store applied"):
            apply_news_file(field, tmp_path / "old.news", actor_id=OPERATOR)
        assert snapshot(field) == after


def test_news_of_another_kit_a_changed_or_forged_file_change_nothing(central, tmp_path):
    store, camp, people = central
    store.withdraw(people["amina"][0].id, actor_id=OPERATOR, reason="")
    with kit_out(store, camp.id, tmp_path / "a") as field_a, \
            kit_out(store, camp.id, tmp_path / "b") as field_b:
        store.withdraw(people["reviewer"].id, actor_id=OPERATOR, reason="")
        write_news(store, field_a.field_kit(), tmp_path / "a.news", actor_id=OPERATOR)
        data = (tmp_path / "a.news").read_bytes()
        before = snapshot(field_b)
        with pytest.raises(StoreError, match="for kit .* made from kit"):
            apply_news_file(field_b, tmp_path / "a.news", actor_id=OPERATOR)
        news_a = verify_news(field_a, data)
        with pytest.raises(StoreError, match="made from kit"):  # the dict alone, too
            field_b.apply_kit_news(news_a, actor_id=OPERATOR)
        # relabelled for kit b: its MAC is still kit a's
        header, payload = data.split(b"\n", 1)
        relabelled = json.loads(header)
        relabelled["kit_id"] = field_b.field_kit()
        forged_payload = payload.replace(field_a.field_kit().encode(), field_b.field_kit().encode())
        with pytest.raises(StoreError, match="does not prove"):
            verify_news(field_b, json.dumps(relabelled).encode() + b"\n" + forged_payload)
        # one byte changed on the way
        tampered = data.replace(b'"made_at":"', b'"made_at":"1', 1)
        with pytest.raises(StoreError, match="does not prove"):
            verify_news(field_a, tampered)
        # forged by someone with the kit's public key only: any key but the kit's token's
        forged = json.dumps(news_a, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(b"age1 the central public key", forged, hashlib.sha256).hexdigest()
        (tmp_path / "forged.news").write_bytes(json.dumps(
            {"format": "jamii-kit-news-file/1", "kit_id": news_a["kit_id"],
             "hmac_sha256": mac}).encode() + b"\n" + forged)
        before_a = snapshot(field_a)
        for bad in (tmp_path / "forged.news",):
            with pytest.raises(StoreError, match="does not prove"):
                apply_news_file(field_a, bad, actor_id=OPERATOR)
        (tmp_path / "junk.news").write_bytes(b"not news at all")
        with pytest.raises(StoreError, match="not a jamii news file"):
            apply_news_file(field_a, tmp_path / "junk.news", actor_id=OPERATOR)
        assert snapshot(field_a) == before_a and snapshot(field_b) == before
        # the file itself, verified by the kit folder alone, and applied where it belongs
        assert verify_news(field_a.audio_dir.parent / "kit", data) == news_a
        assert apply_news_file(field_a, tmp_path / "a.news", actor_id=OPERATOR).withdrawn == [
            people["reviewer"].uid]


@pytest.mark.parametrize("damage, says", [
    (lambda n: n.update(format="jamii-kit-news/9"), "not news from a jamii central store"),
    (lambda n: n.update(campaign_id=n["campaign_id"] + 1), "another campaign"),
    (lambda n: n.update(made_at="yesterday"), "made_at is not a time"),
    (lambda n: n["withdrawals"].append({"uid": "x'; drop table", "withdrawn_at": n["made_at"]}),
     "not a jamii global id"),
    (lambda n: n["withdrawals"].append({"uid": "0" * 32}), "withdrawals.*not a record"),
    (lambda n: n.update(withdrawals={"all": True}), "'withdrawals' is not a list"),
    (lambda n: n.update(known_content=["0" * 64] * 5_000_001), "more than any news carries"),
    (lambda n: n.update(known_content=["<script>"]), "sha256 hashes"),
    (lambda n: n["consent_texts"][0].update(text="Nakubali kila kitu."), "does not match its sha256"),
    (lambda n: n["consent_texts"][0].update(text="x" * 200_001, sha256=hashlib.sha256(
        b"x" * 200_001).hexdigest()), "at most 200000 characters"),
    (lambda n: n["consent_texts"][0].update(scopes=["sell_to_anyone"]), "scopes other than"),
    (lambda n: n["rate_cards"][0]["rates"].update(review={"amount": "-5", "unit": "KES"}),
     "not an amount jamii pays"),
    (lambda n: n["rate_cards"][0]["rates"].update(review={"amount": "NaN", "unit": "KES"}),
     "not an amount jamii pays"),
    (lambda n: n["rate_cards"][0]["rates"].update(bribe={"amount": "5", "unit": "KES"}),
     "pays only"),
    (lambda n: n["rate_cards"][0].update(id=True), "positive whole number"),
    (lambda n: n["people"].append({"uid": "0" * 32, "roles": ["admin"]}), "roles must be"),
    (lambda n: n["campaign"].update(item_kinds=["video"]), "item_kinds may hold only"),
    (lambda n: n["campaign"].update(slug="other"), "'campaign' may hold only"),
    (lambda n: n["campaign"].update(current_consent_version="9"), "neither this store nor"),
])
def test_malformed_news_is_refused_with_nothing_applied(central, tmp_path, damage, says):
    store, camp, people = central
    with kit_out(store, camp.id, tmp_path) as field:
        store.withdraw(people["amina"][0].id, actor_id=OPERATOR, reason="")
        store.set_roles(people["reviewer"].id, ["contributor", "reviewer"], actor_id=OPERATOR)
        store.add_consent_text(camp.id, "2", "sw", "Toleo la pili.", actor_id=OPERATOR)
        store.set_rate_card(camp.id, {"review": {"amount": 12, "unit": "KES"}}, actor_id=OPERATOR)
        news = store.kit_news(field.field_kit(), actor_id=OPERATOR)
        bad = copy.deepcopy(news)
        damage(bad)
        before = snapshot(field)
        with pytest.raises(StoreError, match=says):
            field.apply_kit_news(bad, actor_id=OPERATOR)
        assert snapshot(field) == before  # the good withdrawal in it was not applied either
        assert field.apply_kit_news(news, actor_id=OPERATOR).withdrawn == [people["amina"][0].uid]


def test_only_an_organiser_or_the_operator_makes_or_applies_news(central, tmp_path):
    store, camp, people = central
    with kit_out(store, camp.id, tmp_path) as field:
        kit_id = field.field_kit()
        with pytest.raises(Forbidden):
            store.kit_news(kit_id, actor_id=people["amina"][0].id)
        with pytest.raises(StoreError, match="not made by this store"):
            store.kit_news("0" * 32, actor_id=OPERATOR)
        with pytest.raises(StoreError, match="not made by this store"):
            field.kit_news(kit_id, actor_id=OPERATOR)  # a field store makes no news
        news = store.kit_news(kit_id, actor_id=OPERATOR)
        with pytest.raises(StoreError, match="not made from a kit"):
            store.apply_kit_news(news, actor_id=OPERATOR)  # a central store applies none
        amina = field.sign_in_with_code(people["amina"][1])
        before = snapshot(field)
        for actor in (amina.id, None):
            with pytest.raises(Forbidden):
                field.apply_kit_news(news, actor_id=actor)
        assert snapshot(field) == before
        with pytest.raises(StoreError, match="not made by this store"):
            sign_news(field, news)


def test_news_carries_no_personal_data(central, tmp_path):
    store, camp, people = central
    with kit_out(store, camp.id, tmp_path) as field:
        private = ("Amina Juma", "+255712345678", "Pwani", "woman", "mkaguzi",
                   "a long reviewer secret", ANSWER)
        store.withdraw(people["amina"][0].id, actor_id=OPERATOR, reason="Pwani")
        store.set_roles(people["reviewer"].id, ["contributor"], actor_id=OPERATOR)
        write_news(store, field.field_kit(), tmp_path / "k.news", actor_id=OPERATOR)
        raw = (tmp_path / "k.news").read_text(encoding="utf-8")
        for value in private + tuple(p.pseudonym for p in store.contributors()):
            assert value not in raw, value
        for p in store.contributors():  # nor the sign-in secrets' hashes a kit carries
            assert not p.invite_code_sha256 or p.invite_code_sha256 not in raw
        news = verify_news(field, (tmp_path / "k.news").read_bytes())
        assert [set(w) for w in news["withdrawals"]] == [{"uid", "withdrawn_at", "drafts"}]
        assert [set(p) for p in news["people"]] == [{"uid", "roles"}]
        assert set(news) == {"format", "kit_id", "campaign_id", "kit_made_at", "made_at",
                             "campaign", "withdrawals", "people", "consent_texts", "rate_cards",
                             "known_content"}
        json.dumps(news)  # plain JSON all the way down


def test_jamii_kit_news_and_kit_update_on_the_command_line(central, tmp_path):
    store, camp, people = central
    runner = CliRunner()
    with kit_out(store, camp.id, tmp_path) as field:
        kit_id, field_data = field.field_kit(), field.audio_dir.parent
        store.withdraw(people["amina"][0].id, actor_id=OPERATOR, reason="")
        made = runner.invoke(cli, ["kit", "news", "--kit", kit_id, "--out", str(tmp_path / "k.news"),
                                   "--db", store.url, "--data-dir", str(store.audio_dir.parent)])
        assert made.exit_code == 0, made.output
        assert "1 withdrawals" in made.output and "jamii kit update k.news" in made.output
        args = ["kit", "update", str(tmp_path / "k.news"), "--db", field.url,
                "--data-dir", str(field_data)]
        applied = runner.invoke(cli, args)
        assert applied.exit_code == 0, applied.output
        assert "1 people withdrawn" in applied.output
        assert "nothing new here" in runner.invoke(cli, args).output
        (tmp_path / "bad.news").write_bytes((tmp_path / "k.news").read_bytes().replace(
            b'"drafts":"delete"', b'"drafts":"keep"'))
        refused = runner.invoke(cli, ["kit", "update", str(tmp_path / "bad.news"), "--db", field.url,
                                      "--data-dir", str(field_data)])
        assert refused.exit_code != 0 and "does not prove" in refused.output


def test_a_forged_mac_that_is_not_ascii_is_refused_as_any_forgery(central, tmp_path):
    """hmac.compare_digest raises TypeError on str with non-ASCII characters: that must be a
    refusal saying what is wrong, not a traceback."""
    store, camp, _people = central
    with kit_out(store, camp.id, tmp_path) as field:
        write_news(store, field.field_kit(), tmp_path / "k.news", actor_id=OPERATOR)
        header, payload = (tmp_path / "k.news").read_bytes().split(b"\n", 1)
        forged = json.loads(header)
        forged["hmac_sha256"] = "é" * 64
        before = snapshot(field)
        with pytest.raises(StoreError, match="does not prove"):
            verify_news(field, json.dumps(forged).encode() + b"\n" + payload)
        assert snapshot(field) == before


def test_older_news_is_refused_after_newer_news_that_changed_nothing(central, tmp_path):
    """News applied that finds the field as it says is still the newest the field has seen:
    news made before it, replayed, would undo what the central store changed back since."""
    store, camp, people = central
    reviewer = people["reviewer"]
    with kit_out(store, camp.id, tmp_path) as field:
        store.withdraw(people["amina"][0].id, actor_id=OPERATOR, reason="")
        assert carry(store, field, tmp_path, "first.news").withdrawn
        store.set_roles(reviewer.id, ["contributor"], actor_id=OPERATOR)  # a reviewer no more...
        write_news(store, field.field_kit(), tmp_path / "kept.news", actor_id=OPERATOR)
        store.set_roles(reviewer.id, ["reviewer"], actor_id=OPERATOR)  # ...and again, centrally
        assert not carry(store, field, tmp_path, "newest.news").changed
        before = snapshot(field)
        with pytest.raises(StoreError, match="before news this store applied"):
            apply_news_file(field, tmp_path / "kept.news", actor_id=OPERATOR)
        assert snapshot(field) == before
