"""The `jamii` command as an organiser uses it: users, status, payouts, on a real store."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from jamii.cli import cli
from jamii.core.store import OPERATOR, Store


@pytest.fixture
def env(tmp_path):
    url = f"sqlite:///{tmp_path / 'jamii.sqlite3'}"
    store = Store(url, tmp_path / "audio")
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(cli, [*args, "--db", url, "--data-dir", str(tmp_path)],
                             input=input, catch_exceptions=False)

    yield store, run
    store.close()


def _campaign_with_work(store):
    org, _ = store.add_contributor(roles=["organiser"], pseudonym="org", actor_id=OPERATOR)
    camp = store.create_campaign("demo", "Demo", languages=["sw"], consent_scopes=["open_publication"],
                                 actor_id=OPERATOR)
    ct = store.add_consent_text(camp.id, "1", "en", "You agree.", actor_id=org.id)
    store.set_rate_card(camp.id, {"item_accepted": {"amount": 50, "unit": "KES"},
                                  "review": {"amount": 10, "unit": "KES"}}, actor_id=org.id)
    author, _ = store.add_contributor(pseudonym="author", name="Amina Juma", phone="+255712345678",
                                      actor_id=OPERATOR)
    r1, _ = store.add_contributor(roles=["reviewer"], pseudonym="r1", actor_id=OPERATOR)
    r2, _ = store.add_contributor(roles=["reviewer"], pseudonym="r2", actor_id=OPERATOR)
    store.accept_consent(author.id, ct.id, {"open_publication": True})
    item = store.submit_item(campaign_id=camp.id, author_id=author.id, kind="prompt_response",
                             language="sw", client_key="k1",
                             content={"prompt": "Mahindi hupandwa lini?", "response": "Mwanzoni mwa mvua."}).item
    store.record_review(item.id, r1.id, "approve")
    store.record_review(item.id, r2.id, "approve")
    return camp, org


def test_users_add_list_role_withdraw(env):
    store, run = env
    out = run("users", "add", "--role", "organiser", "--pseudonym", "mratibu", "--name", "Neema")
    assert out.exit_code == 0 and "Invite code:" in out.output
    code = out.output.rsplit("Invite code:", 1)[1].strip()
    assert store.sign_in_with_code(code).pseudonym == "mratibu"
    listed = json.loads(run("users", "list", "--json").output)
    assert [p["pseudonym"] for p in listed] == ["mratibu"]
    assert "Neema" not in run("users", "list").output  # names never listed
    run("users", "add", "--pseudonym", "mchangiaji")
    assert run("users", "role", "mchangiaji", "--set", "reviewer", "--set", "contributor").exit_code == 0
    assert store.contributor_by_pseudonym("mchangiaji").roles == ["reviewer", "contributor"]
    out = run("users", "withdraw", "mchangiaji", "--yes", "--as", "mratibu", "--reason", "asked by phone")
    assert out.exit_code == 0
    assert store.contributor_by_pseudonym("mchangiaji").withdrawn_at is not None


def test_bad_input_gets_a_clear_message_and_changes_nothing(env):
    store, run = env
    out = run("users", "role", "nobody", "--set", "reviewer")
    assert out.exit_code != 0 and "No contributor with pseudonym 'nobody'" in out.output
    out = run("status", "--campaign", "missing")
    assert out.exit_code != 0 and "No campaign 'missing'" in out.output
    out = run("users", "add", "--login", "x", "--password-stdin", input="short\n")
    assert out.exit_code != 0 and "at least 10 characters" in out.output
    assert store.contributors() == []


def test_status_counts(env):
    store, run = env
    _campaign_with_work(store)
    data = json.loads(run("status", "--campaign", "demo", "--json").output)
    assert data["items"] == 1
    assert data["by_status"] == {"accepted": 1}
    assert data["by_language"] == {"sw": 1}
    assert data["contributors"]["reviewers"] == 2
    assert "prompt_response" in run("status", "--campaign", "demo").output


def test_payouts_approve_mark_export(env, tmp_path):
    store, run = env
    _campaign_with_work(store)
    listing = run("payouts", "list", "--campaign", "demo").output
    assert "owed" in listing and "70.00 KES" in listing  # 50 accepted + 2 x 10 reviews
    refused = run("payouts", "approve", "--campaign", "demo", "--as", "author")
    assert refused.exit_code != 0 and "Only organisers" in refused.output
    assert run("payouts", "approve", "--campaign", "demo", "--as", "org").exit_code == 0
    out = run("payouts", "mark", "--campaign", "demo", "paid", "--as", "org")
    assert out.exit_code != 0  # a reference is required
    csv_path = tmp_path / "payout.csv"
    assert run("payouts", "export", "--campaign", "demo", "--out", str(csv_path), "--as", "org").exit_code == 0
    text = csv_path.read_text()
    assert "author" in text and "+255712345678" in text and "50.00" in text
    assert run("payouts", "mark", "--campaign", "demo", "paid", "--reference", "MPESA-QX1",
               "--as", "org").exit_code == 0
    assert {e.status for e in store.ledger(store.campaign("demo").id)} == {"paid"}


def test_pay_follows_the_method_each_person_chose(tmp_path):
    """Airtime keeps its money value, in-kind goods are counted in goods, volunteers get zero."""
    store = Store(f"sqlite:///{tmp_path / 'pay.sqlite3'}", tmp_path / "audio")
    camp = store.create_campaign("pay", "Pay", languages=["sn"], consent_scopes=["open_publication"],
                                 actor_id=OPERATOR)
    ct = store.add_consent_text(camp.id, "1", "en", "You agree.", actor_id=OPERATOR)
    store.set_rate_card(camp.id, {"item_accepted": {"amount": 50, "unit": "KES",
                                                    "in_kind": {"seed pack": "0.2"}}},
                        actor_id=OPERATOR)
    reviewers = [store.add_contributor(roles=["reviewer"], pseudonym=f"r{i}",
                                       actor_id=OPERATOR)[0] for i in range(2)]
    expected = {"mobile_money": ("50.0000", "KES"), "airtime": ("50.0000", "KES airtime"),
                "in_kind": ("0.2000", "seed pack"), "volunteer": ("0.0000", "KES (volunteer)")}
    for method, (amount, unit) in expected.items():
        person, _ = store.add_contributor(compensation_method=method,
                                          compensation_choice="seed pack" if method == "in_kind" else None,
                                          actor_id=OPERATOR)
        store.accept_consent(person.id, ct.id, {"open_publication": True})
        item = store.submit_item(campaign_id=camp.id, author_id=person.id, kind="prompt_response",
                                 language="sn", client_key=method,
                                 content={"prompt": f"Mubvunzo {method}", "response": "Mhinduro."}).item
        for r in reviewers:
            store.record_review(item.id, r.id, "approve")
        [entry] = store.earnings(person.id)
        assert (str(entry.amount), entry.unit) == (amount, unit)
    store.close()


def test_organiser_finds_and_clears_personal_data(env):
    store, run = env
    camp, org = _campaign_with_work(store)
    author = store.contributor_by_pseudonym("author")
    r1, r2 = (store.contributor_by_pseudonym(p) for p in ("r1", "r2"))
    item = store.submit_item(campaign_id=camp.id, author_id=author.id, kind="prompt_response",
                             language="sw", client_key="pii",
                             content={"prompt": "Nipigie nani kuhusu mbolea?",
                                      "response": "Piga simu ya msaada 0712 345 678."}).item
    store.record_review(item.id, r1.id, "approve")
    store.record_review(item.id, r2.id, "approve")
    out = run("items", "flagged", "--campaign", "demo")
    assert out.exit_code == 0 and item.public_id in out.output and "0712 345 678" in out.output
    assert "Mahindi" not in out.output  # the clean item is not listed
    refused = run("items", "clear", str(item.id), "--note", "hotline", "--as", "author")
    assert refused.exit_code != 0 and "Only organisers" in refused.output
    assert run("items", "clear", str(item.id), "--note", " ", "--as", "org").exit_code != 0
    assert store.item(item.id).pii_cleared_by is None
    assert run("items", "clear", str(item.id), "--note", "public hotline", "--as", "org").exit_code == 0
    assert store.item(item.id).pii_cleared_by == org.id
    assert "No accepted item" in run("items", "flagged", "--campaign", "demo").output
    assert "(cleared)" in run("items", "flagged", "--campaign", "demo", "--all").output
    [event] = [e for e in store.audit_events(action_prefix="item.clear_pii")]
    assert event["details"]["note"] == "public hotline"


def test_accepting_the_same_consent_twice_records_it_once(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'c.sqlite3'}", tmp_path / "audio")
    camp = store.create_campaign("c", "C", languages=["sw"], consent_scopes=["open_publication", "voice"],
                                 actor_id=OPERATOR)
    ct = store.add_consent_text(camp.id, "1", "sw", "Unakubali.", actor_id=OPERATOR)
    who, _ = store.add_contributor(actor_id=OPERATOR)
    first = store.accept_consent(who.id, ct.id, {"open_publication": True})
    again = store.accept_consent(who.id, ct.id, {"open_publication": True})
    assert again.id == first.id
    changed = store.accept_consent(who.id, ct.id, {"open_publication": True, "voice": True})
    assert changed.id != first.id and store.active_consent(who.id, camp.id).scopes["voice"] is True
    store.close()


def test_a_payout_of_forty_thousand_entries_moves_in_one_transaction(tmp_path):
    """More ids than SQLite binds in one statement: all move, or (one bad entry) none do."""
    from decimal import Decimal

    from sqlalchemy import insert

    from jamii.core.records import CompensationEntry

    store = Store(f"sqlite:///{tmp_path / 'pay.sqlite3'}", tmp_path / "audio")
    camp = store.create_campaign("pay", "Pay", languages=["sw"], actor_id=OPERATOR)
    org, _ = store.add_contributor(roles=["organiser"], actor_id=OPERATOR)
    who, _ = store.add_contributor(actor_id=OPERATOR)
    with store.write() as s:
        s.execute(insert(CompensationEntry), [
            {"contributor_id": who.id, "campaign_id": camp.id, "activity": "review",
             "source_key": f"review:{i}", "amount": Decimal(10), "unit": "KES"} for i in range(40_000)])
    ids = [e.id for e in store.ledger(camp.id, "owed")]
    bad = ids[:-1] + [ids[-1]]
    store.move_payments(ids[-1:], "approved", actor_id=org.id)  # one entry already approved
    with pytest.raises(Exception, match="cannot move to approved"):
        store.move_payments(bad, "approved", actor_id=org.id)
    assert len(store.ledger(camp.id, "owed")) == 39_999  # nothing moved
    assert store.move_payments(ids[:-1], "approved", actor_id=org.id) == 39_999
    assert len(store.ledger(camp.id, "approved")) == 40_000
    store.close()


def test_every_command_is_built_and_documented():
    """`jamii --help` lists every command of DESIGN section 5, and each one loads and has help."""
    runner = CliRunner()
    listing = runner.invoke(cli, ["--help"]).output
    for name in ("init", "collect", "dashboard", "import", "status", "users", "payouts", "items",
                 "release", "publish", "evaluate", "export-task"):
        assert name in listing
        command = cli.get_command(None, name)
        assert command is not None, name
        out = runner.invoke(cli, [name, "--help"])
        assert out.exit_code == 0 and "Usage:" in out.output, name


def test_help_imports_no_command_module():
    """`jamii --help` stays fast: it loads no subcommand, so no store, datasets, torch or
    Streamlit."""
    import subprocess
    import sys

    code = ("import sys; from jamii.cli import main; sys.argv = ['jamii', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('jamii', 'torch',"
            " 'datasets', 'streamlit', 'sqlalchemy', 'pandas', 'pyarrow'))), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.split() == ["jamii", "jamii.cli"]


def test_commands_act_as_the_operator_and_say_so(env):
    """Without --as a command acts as the local operator (audited as such); --as names an
    organiser, and the store refuses anyone else."""
    store, run = env
    assert "local operator" in " ".join(CliRunner().invoke(cli, ["--help"]).output.split())
    _campaign_with_work(store)
    refused = run("users", "role", "author", "--set", "organiser", "--as", "r1")
    assert refused.exit_code != 0 and "Only organisers" in refused.output
    assert store.contributor_by_pseudonym("author").roles == ["contributor"]
    assert run("payouts", "approve", "--campaign", "demo").exit_code == 0
    [event] = store.audit_events(action_prefix="payout.approved")
    assert event["actor"] == "" and event["details"]["operator"] is True
    assert run("users", "role", "r1", "--set", "organiser", "--as", "org").exit_code == 0
    [event] = store.audit_events(action_prefix="contributor.roles")
    assert event["actor"] == "org" and "operator" not in event["details"]


def test_a_control_character_in_as_is_refused_before_the_database(store_url, tmp_path):
    """--as names a person; a NUL there used to reach PostgreSQL (psycopg.DataError)."""
    import click

    from jamii.cli._common import acting
    from jamii.core.store import Store

    store = Store(store_url, tmp_path / "audio")
    try:
        with pytest.raises(click.BadParameter, match="control character"):
            acting(store, "mratibu\x00")
    finally:
        store.close()
