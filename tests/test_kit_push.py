"""`jamii kit push` (issue 14, "over the network when there is one"): a field laptop's bundle
sent to a real `jamii collect` (central store on PostgreSQL) through a loopback proxy that cuts
the connection mid-upload; the push resumes and the central store ends with every item, review,
consent and ledger entry of the kit exactly once, and the field store applies the central news
it answers with (a withdrawal made centrally while the kit was out). Pushing the same bundle
again adds nothing. Refused, with nothing written: no token, a revoked one, one of another
campaign, one whose organiser is no longer one, an upload asked with another token, a wrong
offset, a chunk over the limit, a bundle of another campaign's kit passed off as this one's.
Also: the API tokens' migration on SQLite and PostgreSQL, and `jamii kit token`.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))

import _jamii_browser as jb  # noqa: E402
from test_serve import serving  # noqa: E402

from jamii.cli import cli  # noqa: E402
from jamii.collector.forms import check_clip  # noqa: E402
from jamii.core.kit.bundles import write_bundle  # noqa: E402
from jamii.core.kit.kits import create_kit, init_from_kit  # noqa: E402
from jamii.core.kit.push import PushError, push_bundle  # noqa: E402
from jamii.core.records import CompensationEntry, Consent, Contributor, Item, Review  # noqa: E402
from jamii.core.store import OPERATOR, Store  # noqa: E402
from tests.support.collector_fixtures import wav  # noqa: E402
from tests.support.cutting_proxy import CuttingProxy  # noqa: E402
from tests.support.pg import pg_schema_url  # noqa: E402

pytestmark = pytest.mark.slow

MAX_CHUNK = 1 << 20
MAX_BYTES = 32 << 20
CHUNK = 32 << 10
KIT_TABLES = {"people": Contributor, "consents": Consent, "items": Item, "reviews": Review,
              "ledger": CompensationEntry}


def quick(seconds: float) -> None:
    time.sleep(min(seconds, 0.2))


def field_store(where: Path) -> Store:
    return Store(f"sqlite:///{where / 'jamii.sqlite3'}", where / "audio")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A central store on PostgreSQL served by `jamii collect`; a kit of campaign `kilimo` out
    on a field store (SQLite) that collected text and speech, reviewed and paid; a kit of
    another campaign; and tokens: good, revoked, other campaign's, a demoted organiser's."""
    url, drop = pg_schema_url()
    root = tmp_path_factory.mktemp("push")
    data = root / "central"
    jb.init_store(data, seeds=False, db_url=url)
    central = Store(url, data / "audio")
    camp = central.create_campaign("kilimo", "Kilimo", languages=["sw"],
                                   item_kinds=["prompt_response", "speech"],
                                   consent_scopes=["open_publication", "voice"], actor_id=OPERATOR)
    consent = central.add_consent_text(camp.id, "1", "sw", "Nakubali.", actor_id=OPERATOR)
    central.set_rate_card(camp.id, {"review": {"amount": 10, "unit": "KES"},
                                    "item_accepted": {"amount": 20, "unit": "KES"}},
                          actor_id=OPERATOR)
    organiser, _ = central.add_contributor(roles=["organiser"], actor_id=OPERATOR)
    demoted, _ = central.add_contributor(roles=["organiser"], actor_id=OPERATOR)
    speaker, speaker_code = central.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    leaver, _ = central.add_contributor(roles=["contributor"], actor_id=OPERATOR)
    _, reviewer_code = central.add_contributor(roles=["reviewer"], actor_id=OPERATOR)
    for who in (speaker, leaver):
        central.accept_consent(who.id, consent.id, {"open_publication": True, "voice": True})
    other = central.create_campaign("afya", "Afya", languages=["sw"], actor_id=OPERATOR)

    create_kit(central, camp.id, root / "k.kit", actor_id=OPERATOR)
    create_kit(central, other.id, root / "other.kit", actor_id=OPERATOR)
    field = field_store(root / "field")
    init_from_kit(field, root / "k.kit", actor_id=OPERATOR)
    speaking = field.sign_in_with_code(speaker_code)
    reviewer = field.sign_in_with_code(reviewer_code)
    newcomer, _ = field.add_contributor(roles=["contributor"], pseudonym="mgeni", actor_id=OPERATOR)
    field.accept_consent(newcomer.id, field.consent_text(camp.id, "sw").id,
                         {"open_publication": True, "voice": True})
    for n in range(12):  # recordings make the bundle some 20 chunks long
        clip = check_clip(wav(1.5, freq=200.0 + 20 * n))
        digest = field.save_audio(clip.data, ".wav")
        item = field.submit_item(
            campaign_id=camp.id, author_id=(speaking if n % 2 else newcomer).id, kind="speech",
            language="sw", client_key=f"clip-{n}",
            content={"transcript": f"Mvua ya {n} ilinyesha Mwingi.", "audio_sha256": digest,
                     "duration_s": clip.duration_s, "sample_rate": clip.sample_rate}).item
        if n % 3 == 0:
            field.record_review(item.id, reviewer.id, "approve")
    for n in range(3):
        field.submit_item(campaign_id=camp.id, author_id=speaking.id, kind="prompt_response",
                          language="sw", client_key=f"text-{n}",
                          content={"prompt": f"Swali la {n} kuhusu mbolea?",
                                   "response": "Kwa kawaida mwezi wa tatu hadi wa tano.",
                                   "task_type": "open_qa"})
    bundle = root / "k.bundle"
    write_bundle(field, bundle, actor_id=OPERATOR)
    rows = {table: list(found) for table, found in field.kit_records(actor_id=OPERATOR)}

    other_field = field_store(root / "other-field")
    init_from_kit(other_field, root / "other.kit", actor_id=OPERATOR)
    write_bundle(other_field, root / "other.bundle", actor_id=OPERATOR)
    other_field.close()

    # centrally, while the kit is out: a contributor it carries withdraws
    central.withdraw(leaver.id, actor_id=OPERATOR, reason="moved away")
    tokens = {"good": central.issue_api_token(camp.id, "Kitui laptop", actor_id=organiser.id)[1],
              "other": central.issue_api_token(other.id, actor_id=organiser.id)[1],
              "demoted": central.issue_api_token(camp.id, actor_id=demoted.id)[1],
              "second": central.issue_api_token(camp.id, actor_id=organiser.id)[1]}
    revoked_id, tokens["revoked"] = central.issue_api_token(camp.id, actor_id=organiser.id)
    central.revoke_api_token(revoked_id, actor_id=OPERATOR)
    central.set_roles(demoted.id, ["reviewer"], actor_id=OPERATOR)

    with pytest.MonkeyPatch.context() as env:
        env.setenv("JAMII_KIT_UPLOAD_MAX_CHUNK", str(MAX_CHUNK))
        env.setenv("JAMII_KIT_UPLOAD_MAX_BYTES", str(MAX_BYTES))
        with serving(data, "collect", db_url=url) as server:
            yield {"url": server, "central": central, "field": field, "bundle": bundle,
                   "rows": rows, "camp": camp, "tokens": tokens, "data": data, "root": root,
                   "kit": field.field_kit(), "leaver": leaver.uid,
                   "organiser": organiser.pseudonym}
    field.close()
    central.close()
    drop()


def withdrawn_in(store: Store, uid: str):
    with store.read() as s:
        return s.scalar(select(Contributor.withdrawn_at).where(Contributor.uid == uid))


def kit_counts(central: Store, kit_id: str) -> dict[str, int]:
    with central.read() as s:
        return {table: s.scalar(select(func.count()).select_from(model).where(model.kit_id == kit_id))
                for table, model in KIT_TABLES.items()}


def uploads(world) -> list[str]:
    folder = world["data"] / "kit" / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def raw(world, method: str, path: str, *, token: str | None = "good", body: bytes = b"",
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request as an attacker would make it, with no client logic."""
    host, port = world["url"].split("://", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    sent = {"Content-Length": str(len(body)), **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {world['tokens'].get(token, token)}"
    try:
        conn.request(method, path, body=body or None, headers=sent)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def metadata(bundle: bytes, kit_id: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    (("sha256", hashlib.sha256(bundle).hexdigest()), ("kit_id", kit_id)))


def create(world, bundle: bytes, *, token: str = "good", kit_id: str | None = None) -> str:
    status, headers, body = raw(world, "POST", "/kit/uploads", token=token, headers={
        "Upload-Length": str(len(bundle)), "Upload-Metadata": metadata(bundle, kit_id or world["kit"])})
    assert status in (200, 201), body
    return headers["location"]


def patch(world, location: str, offset: int, data: bytes, *, token: str = "good"):
    return raw(world, "PATCH", location, token=token, body=data, headers={
        "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})


# --------------------------------------------------------------------------- refused
def test_a_push_without_a_working_token_is_refused_and_writes_nothing(world):
    before, files = kit_counts(world["central"], world["kit"]), uploads(world)
    status, headers, body = raw(world, "POST", "/kit/uploads", token=None,
                                headers={"Upload-Length": "10"})
    assert status == 401 and "Bearer" in headers["www-authenticate"] and b"API token" in body
    for token in ("revoked", "demoted", "not-a-token-at-all-but-long-enough"):
        with pytest.raises(PushError, match="401.*unknown, revoked"):
            push_bundle(world["field"], world["bundle"], world["url"],
                        world["tokens"].get(token, token), chunk=CHUNK, sleep=quick)
    with pytest.raises(PushError, match="403.*not one this store made for the token's campaign"):
        push_bundle(world["field"], world["bundle"], world["url"], world["tokens"]["other"],
                    chunk=CHUNK, sleep=quick)
    assert kit_counts(world["central"], world["kit"]) == before and uploads(world) == files


def test_offset_games_oversized_chunks_and_strangers_get_nothing(world):
    data = world["bundle"].read_bytes()
    location = create(world, data[:-1] + b"x")  # an upload of its own, never completed
    assert location.startswith("/kit/uploads/")
    status, headers, _ = patch(world, location, 5, data[5:100])
    assert status == 409 and headers["upload-offset"] == "0"
    status, headers, _ = patch(world, location, 0, data[:100])
    assert status == 204 and headers["upload-offset"] == "100"
    assert patch(world, location, 0, data[:100])[0] == 409  # the same bytes twice: no
    status, _, body = patch(world, location, 100, b"\0" * (MAX_CHUNK + 1))
    assert status == 413 and b"at most" in body
    status, headers, _ = raw(world, "HEAD", location)
    assert status == 200 and headers["upload-offset"] == "100"  # nothing of it stayed
    # past the declared end, without saying how long the body is
    status, _, _ = patch(world, location, 100, b"\0" * (len(data) - 100 + 1))
    assert status == 413 and raw(world, "HEAD", location)[1]["upload-offset"] == "100"
    assert patch(world, location, 100, data[100:200], token=None)[0] == 401
    for token in ("second", "other"):  # another working token: not its upload
        assert patch(world, location, 100, data[100:200], token=token)[0] == 404
        assert raw(world, "GET", location, token=token)[0] == 404
    for path in ("/kit/uploads/..%2f..%2fkit%2fcentral-key.txt", "/kit/uploads/ABCDEF",
                 "/kit/uploads/" + "0" * 32, "/kit/uploads/%2e%2e"):
        assert raw(world, "GET", path)[0] in (400, 404, 405), path  # never a file
    assert raw(world, "PATCH", location, body=data[100:200], headers={
        "Upload-Offset": "100", "Content-Type": "text/plain"})[0] == 415
    status, _, body = raw(world, "POST", "/kit/uploads", headers={
        "Upload-Length": str(MAX_BYTES + 1), "Upload-Metadata": metadata(data, world["kit"])})
    assert status == 413 and b"JAMII_KIT_UPLOAD_MAX_BYTES" in body
    for bad in ("sha256 bm90LWhleA==", "kit_id " + base64.b64encode(b"../../x").decode(), "junk"):
        assert raw(world, "POST", "/kit/uploads", headers={
            "Upload-Length": "10", "Upload-Metadata": bad})[0] == 400
    assert all(".." not in name and "/" not in name for name in uploads(world))


def test_another_campaigns_bundle_passed_off_as_this_kits_is_not_merged(world):
    """The metadata is the client's word; the sealed manifest decides, before any write."""
    before = kit_counts(world["central"], world["kit"])
    with world["central"].read() as s:
        items_before = s.scalar(select(func.count()).select_from(Item))
    data = (world["root"] / "other.bundle").read_bytes()
    location = create(world, data)  # names the kilimo kit, with a kilimo token
    assert patch(world, location, 0, data)[0] == 204
    state = poll(world, location)
    assert state["state"] == "failed" and "not from a kit of the token's campaign" in state["message"]
    assert kit_counts(world["central"], world["kit"]) == before
    with world["central"].read() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == items_before
    assert f"{location.rsplit('/', 1)[1]}.part" not in uploads(world)  # cleaned up


def poll(world, location: str) -> dict:
    import json

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, _, body = raw(world, "GET", location)
        assert status == 200
        state = json.loads(body)
        if state["state"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    pytest.fail(f"the merge of {location} never ended")


# --------------------------------------------------------------------------- the push
def test_a_cut_push_resumes_and_merges_everything_exactly_once(world):
    central, field, kit_id, rows = world["central"], world["field"], world["kit"], world["rows"]
    size = world["bundle"].stat().st_size
    assert size > 10 * CHUNK
    assert withdrawn_in(field, world["leaver"]) is None  # not yet in the field
    target = ("127.0.0.1", int(world["url"].rsplit(":", 1)[1]))
    with CuttingProxy(target, cut_after=[size // 5, size // 2, size * 4 // 5]) as proxy:
        done = push_bundle(field, world["bundle"], proxy.url, world["tokens"]["good"],
                           chunk=CHUNK, sleep=quick)
    assert proxy.cuts == 3 and done.resumed >= 3
    assert done.bytes_sent == size
    for table, model in KIT_TABLES.items():
        assert done.report.added[table] == len(rows[table]), table
    assert not done.report.conflicts and not done.report.duplicates
    assert kit_counts(central, kit_id) == {t: len(rows[t]) for t in KIT_TABLES}
    with central.read() as s:  # each record once, by the id it got in the field
        for table, key, model_key in (("items", "public_id", Item.public_id),
                                      ("reviews", "uid", Review.uid),
                                      ("consents", "uid", Consent.uid),
                                      ("ledger", "uid", CompensationEntry.uid)):
            ids = sorted(r[key] for r in rows[table])
            assert sorted(s.scalars(select(model_key).where(model_key.in_(ids)))) == ids, table
    for row in rows["items"]:
        if row["kind"] == "speech":
            assert central.audio_path(row["content"]["audio_sha256"]).is_file()
    # the central news came back: the withdrawal made centrally now holds in the field
    assert done.news is not None and world["leaver"] in done.news.withdrawn
    assert withdrawn_in(field, world["leaver"]) is not None
    assert f"{done.upload_url.rsplit('/', 1)[1]}.part" not in uploads(world)  # bytes gone
    # the merge and the news acted as the token's issuer, as the audit trail says
    issuers = {e["actor"] for e in central.audit_events(500, action_prefix="kit.")
               if e["action"] in ("kit.merge", "kit.news")}
    assert issuers == {world["organiser"]}


def test_the_same_bundle_pushed_again_adds_nothing(world):
    """`jamii kit push` on the laptop, the token from a file (never on the command line)."""
    central, kit_id, field = world["central"], world["kit"], world["field"]
    before = kit_counts(central, kit_id)
    token_file = world["root"] / "token.txt"
    token_file.write_text(world["tokens"]["good"] + "\n")
    done = CliRunner().invoke(cli, ["kit", "push", str(world["bundle"]), "--to", world["url"],
                                    "--token-file", str(token_file), "--db", field.url,
                                    "--data-dir", str(world["root"] / "field")])
    assert done.exit_code == 0, done.output
    assert f"items: 0 added, {len(world['rows']['items'])} already here" in done.output
    assert "Central news applied to this store" in done.output
    assert kit_counts(central, kit_id) == before
    refused = CliRunner().invoke(cli, ["kit", "push", str(world["bundle"]), "--to", world["url"],
                                       "--db", field.url, "--data-dir", str(world["root"] / "field")],
                                 env={"JAMII_PUSH_TOKEN": ""})
    assert refused.exit_code != 0 and "--token-file" in refused.output


def test_two_pushes_of_one_bundle_at_once_merge_it_once(world):
    central, kit_id = world["central"], world["kit"]
    before = kit_counts(central, kit_id)
    results, errors = [], []

    def push(token: str) -> None:
        try:
            results.append(push_bundle(world["field"], world["bundle"], world["url"],
                                       world["tokens"][token], chunk=CHUNK, sleep=quick))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(t,)) for t in ("good", "good", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors and len(results) == 3
    assert all(set(r.report.added.values()) == {0} for r in results)
    assert kit_counts(central, kit_id) == before


# --------------------------------------------------------------------------- tokens
def test_tokens_from_the_command_line(sqlite_store, tmp_path):
    store = sqlite_store
    store.create_campaign("kilimo", "Kilimo", languages=["sw"], actor_id=OPERATOR)
    store.add_contributor(roles=["organiser"], pseudonym="mratibu", actor_id=OPERATOR)
    db = ["--db", store.url, "--data-dir", str(tmp_path)]
    runner = CliRunner()
    refused = runner.invoke(cli, ["kit", "token", "create", "--campaign", "kilimo", *db])
    assert refused.exit_code != 0 and "--as" in refused.output  # a token names its organiser
    made = runner.invoke(cli, ["kit", "token", "create", "--campaign", "kilimo", "--note",
                                    "Kitui", "--as", "mratibu", *db])
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    assert store.api_token_campaign(token) is not None
    listed = runner.invoke(cli, ["kit", "token", "list", "--campaign", "kilimo", *db])
    assert "active" in listed.output and "mratibu" in listed.output and token not in listed.output
    token_id = listed.output.split()[0]
    assert runner.invoke(cli, ["kit", "token", "revoke", token_id, *db]).exit_code == 0
    assert store.api_token_campaign(token) is None
    assert "revoked" in runner.invoke(cli, ["kit", "token", "list", "-c", "kilimo", *db]).output
    with store.read() as s:
        assert token not in str(s.execute(text("SELECT * FROM api_tokens")).all())


def test_migration_0009_adds_api_tokens_to_an_existing_store(store_url, tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from jamii.core.store._base import MIGRATIONS, make_engine

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = make_engine(store_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")
    assert "api_tokens" not in inspect(engine).get_table_names()
    engine.dispose()
    migrated = Store(store_url, tmp_path / "audio")  # opening migrates to the newest
    try:
        camp = migrated.create_campaign("kilimo", "Kilimo", languages=["sw"], actor_id=OPERATOR)
        org, _ = migrated.add_contributor(roles=["organiser"], actor_id=OPERATOR)
        _, token = migrated.issue_api_token(camp.id, actor_id=org.id)
        assert migrated.api_token_campaign(token) == (camp.id, org.id)
    finally:
        migrated.close()
    engine = make_engine(store_url)
    with engine.begin() as conn:  # and back down, and up again
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
        assert "api_tokens" not in inspect(conn).get_table_names()
        command.upgrade(cfg, "0009")
        assert "api_tokens" in inspect(conn).get_table_names()
    engine.dispose()
