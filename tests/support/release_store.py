"""A store seeded with planted trouble, for release tests.

Planted: a contributor who withdraws, one who refused open publication, PII (an email and a
phone number) in a prompt and in a reference answer, an exact and a near duplicate, a dialect
with three speakers, and a row whose text is stored NFD. Every person has a name, email and
phone in the private contacts table; `PLANTED` lists every string that must never appear in a
release folder.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf
from sqlalchemy import update

from jamii.core.records import Item
from jamii.core.store import OPERATOR

ANSWERS = {
    "about.curators": "Jamii Test Community Group (curation and review)",
    "about.url": "https://huggingface.co/datasets/jamii-test/mazao",
    "about.compensation_basis": "Set with the community at twice the local hourly farm wage.",
    "motivation.purpose": "To measure how well open models answer farmers' and health questions in Swahili.",
    "motivation.creators": "The Jamii Test Community Group.",
    "motivation.funding": "N/A: volunteers and a small community fund; no grant.",
    "collection.ethical_review": "N/A: a community review board approved the consent text; no IRB.",
    "collection.impact": "N/A: no formal data protection impact analysis was done.",
    "uses.already": "N/A: this is the first release.",
    "uses.repository": "N/A: none yet.",
    "uses.tasks": "Evaluating language models and speech recognisers in Swahili.",
    "uses.not_for": "Identifying speakers, or training surveillance systems.",
    "distribution.third_party_ip": "N/A: none.",
    "distribution.export": "N/A: none known.",
    "maintenance.who": "The Jamii Test Community Group hosts it on the Hugging Face Hub.",
    "maintenance.contact": "Open a discussion on the dataset's Hub page.",
    "maintenance.updates": "Yes, with each new batch of accepted items.",
    "maintenance.older_versions": "Yes: every version stays tagged on the Hub.",
}
for _section in ("motivation", "composition", "collection", "preprocessing", "uses",
                 "distribution", "maintenance"):
    ANSWERS[f"{_section}.other"] = "N/A: no other comments."


def wav(seconds: float = 1.5, seed: int = 0, rate: int = 16000) -> bytes:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    signal = 0.3 * np.sin(2 * np.pi * (150 + 20 * seed) * t) + 0.02 * rng.standard_normal(t.shape)
    buf = io.BytesIO()
    sf.write(buf, signal.astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@dataclass
class Planted:
    campaign_id: int
    organiser_id: int
    names: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)
    pii: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    """What each planted item is -> its public id."""

    @property
    def never(self) -> list[str]:
        return self.names + self.contacts + self.pii


QUESTIONS = [
    ("Mbolea gani inafaa kwa mahindi katika udongo wa mchanga?", "Tumia samadi iliyooza vizuri na mboji."),
    ("Nifanye nini mtoto akiwa na homa kali usiku?", "Mpe maji mengi na umpeleke kliniki haraka."),
    ("Ni lini wakati mzuri wa kupanda maharagwe?", "Panda mwanzoni mwa mvua za masika."),
    ("Jinsi gani ya kuhifadhi mahindi yasiharibiwe na wadudu?", "Yakaushe vizuri na uyahifadhi kwenye mifuko isiyopitisha hewa."),
    ("Dalili za malaria ni zipi kwa watu wazima?", "Homa, kutetemeka, maumivu ya kichwa na uchovu."),
    ("Ng'ombe wangu hawali vizuri, nifanye nini?", "Mwite daktari wa mifugo na uangalie maji na malisho."),
    ("Je, ni salama kunywa maji ya mvua?", "Yachemshe kwanza au tumia dawa ya kusafisha maji."),
    ("Kuku wangu wanakufa, ugonjwa gani huu?", "Huenda ni kideri; chanja kuku wote mapema."),
    ("Jinsi ya kutengeneza mboji nyumbani?", "Changanya majani, mabaki ya chakula na samadi, geuza kila wiki."),
    ("Mama mjamzito ale vyakula gani?", "Mboga za majani, maharagwe, matunda na vyakula vyenye madini ya chuma."),
    ("Viazi vitamu vinapandwaje kwa mafanikio?", "Tumia vipandikizi vyenye afya kwenye matuta yaliyoinuliwa."),
    ("Mtoto anaharisha, nimpe nini?", "Mpe ORS na zinki, na aendelee kunyonya."),
]


def build_release_store(store) -> Planted:
    """Seed `store` with one campaign, its people and items, planted trouble included."""
    organiser, _ = store.add_contributor(roles=["organiser", "reviewer"], name="Neema Organiser",
                                         email="neema.org@example.org", phone="+254 711 000 001",
                                         pseudonym="mratibu", actor_id=OPERATOR)
    camp = store.create_campaign(
        "mazao", "Mazao na Afya test", languages=["sw"], actor_id=OPERATOR,
        dialects={"sw": ["Kiunguja", "Kimvita", "Kiamu"]}, domains=["agriculture", "health"],
        description="Farming and health questions in Swahili, written by the community.",
        consent_scopes=["open_publication", "model_evaluation", "voice"])
    planted = Planted(camp.id, organiser.id)
    planted.names.append("Neema Organiser")
    planted.contacts += ["neema.org@example.org", "+254 711 000 001"]
    for lang, text in (("en", "I agree that my items may be published openly under an open licence. "
                                "I can withdraw at any time."),
                       ("sw", "Ninakubali kazi yangu ichapishwe wazi. Naweza kujiondoa wakati wowote.")):
        ct = store.add_consent_text(camp.id, "1", lang, text, actor_id=OPERATOR)
    store.set_rate_card(camp.id, {"item_accepted": {"amount": 50, "unit": "KES"},
                                  "review": {"amount": 10, "unit": "KES"},
                                  "recording_minute": {"amount": 30, "unit": "KES"}},
                        actor_id=OPERATOR)
    all_scopes = {"open_publication": True, "model_evaluation": True, "voice": True}
    people = []
    # eight Kiunguja speakers (6 women), three Kimvita speakers: a group under five
    for i in range(11):
        dialect = "Kiunguja" if i < 8 else "Kimvita"
        name, email, phone = f"Mtu Namba{i} Halisi", f"mtu{i}.halisi@example.com", f"+255 754 {100000 + i}"
        person, _ = store.add_contributor(
            roles=["contributor", "reviewer"], name=name, email=email, phone=phone,
            pseudonym=f"mchangiaji-{i:02d}", dialect=dialect, gender="woman" if i < 6 else "man",
            age_band="25-34" if i % 2 else "35-44", region="Pwani",
            compensation_method="mobile_money", actor_id=OPERATOR)
        planted.names.append(name)
        planted.contacts += [email, phone]
        store.accept_consent(person.id, ct.id, all_scopes)
        people.append(person)
    # someone who said no to open publication
    shy, _ = store.add_contributor(roles=["contributor"], name="Siri Hapana", email="siri@example.net",
                                   pseudonym="faragha", dialect="Kiunguja", actor_id=OPERATOR)
    store.accept_consent(shy.id, ct.id, {"open_publication": False, "model_evaluation": True, "voice": False})
    planted.names.append("Siri Hapana")
    planted.contacts.append("siri@example.net")

    def submit(author, key, prompt, response, dialect=None, **kw):
        sub = store.submit_item(campaign_id=camp.id, author_id=author.id, kind="prompt_response",
                                language="sw", content={"prompt": prompt, "response": response,
                                                        "task_type": "open_qa"},
                                client_key=key, dialect=dialect, domain=kw.get("domain", "agriculture"))
        return sub.item

    def accept(item, author):
        reviewers = [p for p in people if p.id != author.id][:2]
        for r in reviewers:
            store.record_review(item.id, r.id, "approve")

    # ordinary items, spread over authors and dialects
    for n, (q, a) in enumerate(QUESTIONS):
        author = people[n % len(people)]
        item = submit(author, f"ok-{n}", q, a, dialect=author.dialect,
                      domain="health" if n % 2 else "agriculture")
        accept(item, author)
        planted.ids[f"ok-{n}"] = item.public_id
    # duplicates: same words, different case and punctuation; one word changed
    exact = submit(people[1], "dup-exact", "MBOLEA gani inafaa kwa mahindi, katika udongo wa mchanga??",
                   "Tumia samadi iliyooza vizuri   na mboji!")
    accept(exact, people[1])
    planted.ids["dup-exact"] = exact.public_id
    near = submit(people[2], "dup-near", "Ni lini wakati mzuri sana wa kupanda maharagwe?",
                  "Panda mwanzoni mwa mvua za masika.")
    accept(near, people[2])
    planted.ids["dup-near"] = near.public_id
    # PII in a prompt and in an answer
    pii_prompt = submit(people[3], "pii-prompt", "Nipigie kwa 0712 345 678 kuhusu bei ya mbolea ya kupandia?",
                        "Bei ya mbolea hubadilika kila msimu; uliza duka la pembejeo.")
    accept(pii_prompt, people[3])
    planted.ids["pii-prompt"] = pii_prompt.public_id
    pii_answer = submit(people[4], "pii-answer", "Nani anaweza kunisaidia na mbegu bora za mtama?",
                        "Mwandikie afisa ugani kwa juma.mkulima@example.org leo.")
    accept(pii_answer, people[4])
    planted.ids["pii-answer"] = pii_answer.public_id
    planted.pii += ["0712 345 678", "juma.mkulima@example.org"]
    # a contributor who later withdraws
    leaver = people[5]
    gone = submit(leaver, "withdrawn", "Ni mimea gani inafaa kuzuia mmomonyoko wa udongo?",
                  "Nyasi za vetiver na miti ya mikunde kwenye kingo za shamba.")
    accept(gone, leaver)
    planted.ids["withdrawn"] = gone.public_id
    # an item by someone who refused publication (imported: that path needs no consent check)
    private = store.submit_item(campaign_id=camp.id, author_id=shy.id, kind="prompt_response",
                                language="sw", content={"prompt": "Swali la siri kuhusu shamba langu la kahawa?",
                                                        "response": "Jibu la siri."},
                                client_key="private", domain="agriculture").item
    accept(private, shy)
    planted.ids["no-consent"] = private.public_id
    # NFD text stored around the normaliser (as an old import would have left it)
    nfd_item = submit(people[6], "nfd", "Je, mbegu za kienyeji zina faida gani kwa mkulima mdogo?",
                      "Zinastahimili ukame na ni nafuu.")
    accept(nfd_item, people[6])
    with store.write() as s:
        s.execute(update(Item).where(Item.id == nfd_item.id).values(content={
            "prompt": unicodedata.normalize("NFD", "Je, mbegu za kienyeji zina faida gani kwa mkulima mdogo? café"),
            "response": "Zinastahimili ukame na ni nafuu.", "task_type": "open_qa"}))
    planted.ids["nfd"] = nfd_item.public_id
    # a contextual item and a speech item
    ctx_item = store.submit_item(
        campaign_id=camp.id, author_id=people[7].id, kind="contextual", language="sw",
        client_key="ctx-1", dialect="Kiunguja", domain="health",
        content={"scenario": "Mama mjijini Unguja, usiku, kliniki imefungwa.",
                 "persona": "Mama wa watoto watatu", "question": "Mtoto wangu ana homa, nifanye nini sasa?",
                 "reference_answers": ["Mpe maji na dawa ya kushusha homa, mpeleke kliniki asubuhi."],
                 "red_flags": ["Kumpa mtoto dawa za watu wazima"],
                 "rubric": [{"name": "usefulness", "description": "Inasaidia?",
                             "anchors": ["Hapana", "Kidogo", "Wastani", "Ndiyo", "Sana"]}]}).item
    accept(ctx_item, people[7])
    planted.ids["contextual"] = ctx_item.public_id
    digest = store.save_audio(wav())
    speech = store.submit_item(
        campaign_id=camp.id, author_id=people[0].id, kind="speech", language="sw",
        client_key="speech-1", dialect="Kiunguja", domain="agriculture",
        content={"transcript": "Mvua imeanza kunyesha leo asubuhi.", "prompt_text": "Mvua imeanza kunyesha leo asubuhi.",
                 "audio_sha256": digest, "duration_s": 1.5, "sample_rate": 16000}).item
    accept(speech, people[0])
    planted.ids["speech"] = speech.public_id
    store.withdraw(leaver.id, actor_id=OPERATOR, reason="asked to leave")
    return planted
