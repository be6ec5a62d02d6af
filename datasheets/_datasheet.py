"""Datasheets for Datasets (Gebru et al., v7 questions with v8's people questions): every
question answered from the records where they know the answer, else by the organiser.

Each question has a stable key (`motivation.purpose`); the answers file uses these keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jamii.datasheets._context import Context

SECTIONS = {
    "motivation": "Motivation",
    "composition": "Composition",
    "collection": "Collection process",
    "preprocessing": "Preprocessing, cleaning and labelling",
    "uses": "Uses",
    "distribution": "Distribution",
    "maintenance": "Maintenance",
}

QUESTIONS: list[tuple[str, str]] = [
    ("motivation.purpose", "For what purpose was the dataset created?"),
    ("motivation.creators", "Who created the dataset (e.g., which team, research group) and on behalf of which entity (e.g., company, institution, organization)?"),
    ("motivation.funding", "Who funded the creation of the dataset?"),
    ("motivation.other", "Any other comments?"),
    ("composition.instances", "What do the instances that comprise the dataset represent (e.g., documents, photos, people, countries)?"),
    ("composition.count", "How many instances are there in total (of each type, if appropriate)?"),
    ("composition.sample", "Does the dataset contain all possible instances or is it a sample (not necessarily random) of instances from a larger set?"),
    ("composition.data", "What data does each instance consist of?"),
    ("composition.label", "Is there a label or target associated with each instance?"),
    ("composition.missing", "Is any information missing from individual instances?"),
    ("composition.relationships", "Are relationships between individual instances made explicit (e.g., users' movie ratings, social network links)?"),
    ("composition.splits", "Are there recommended data splits (e.g., training, development/validation, testing)?"),
    ("composition.errors", "Are there any errors, sources of noise, or redundancies in the dataset?"),
    ("composition.self_contained", "Is the dataset self-contained, or does it link to or otherwise rely on external resources (e.g., websites, tweets, other datasets)?"),
    ("composition.confidential", "Does the dataset contain data that might be considered confidential (e.g., data that is protected by legal privilege or by doctor-patient confidentiality, data that includes the content of individuals' non-public communications)?"),
    ("composition.offensive", "Does the dataset contain data that, if viewed directly, might be offensive, insulting, threatening, or might otherwise cause anxiety?"),
    ("composition.people", "Does the dataset relate to people?"),
    ("composition.subpopulations", "Does the dataset identify any subpopulations (e.g., by age, gender)?"),
    ("composition.identifiable", "Is it possible to identify individuals (i.e., one or more natural persons), either directly or indirectly (i.e., in combination with other data) from the dataset?"),
    ("composition.sensitive", "Does the dataset contain data that might be considered sensitive in any way (e.g., data that reveals racial or ethnic origins, sexual orientations, religious beliefs, political opinions or union memberships, or locations; financial or health data; biometric or genetic data; forms of government identification, such as social security numbers; criminal history)?"),
    ("composition.other", "Any other comments?"),
    ("collection.acquired", "How was the data associated with each instance acquired?"),
    ("collection.mechanisms", "What mechanisms or procedures were used to collect the data (e.g., hardware apparatus or sensor, manual human curation, software program, software API)?"),
    ("collection.sampling", "If the dataset is a sample from a larger set, what was the sampling strategy (e.g., deterministic, probabilistic with specific sampling probabilities)?"),
    ("collection.who", "Who was involved in the data collection process (e.g., students, crowdworkers, contractors) and how were they compensated (e.g., how much were crowdworkers paid)?"),
    ("collection.timeframe", "Over what timeframe was the data collected?"),
    ("collection.ethical_review", "Were any ethical review processes conducted (e.g., by an institutional review board)?"),
    ("collection.people", "Does the dataset relate to people?"),
    ("collection.direct", "Did you collect the data from the individuals in question directly, or obtain it via third parties or other sources (e.g., websites)?"),
    ("collection.notified", "Were the individuals in question notified about the data collection?"),
    ("collection.consent", "Did the individuals in question consent to the collection and use of their data?"),
    ("collection.revoke", "If consent was obtained, were the consenting individuals provided with a mechanism to revoke their consent in the future or for certain uses?"),
    ("collection.impact", "Has an analysis of the potential impact of the dataset and its use on data subjects (e.g., a data protection impact analysis) been conducted?"),
    ("collection.other", "Any other comments?"),
    ("preprocessing.done", "Was any preprocessing/cleaning/labeling of the data done (e.g., discretization or bucketing, tokenization, part-of-speech tagging, SIFT feature extraction, removal of instances, processing of missing values)?"),
    ("preprocessing.raw", "Was the \"raw\" data saved in addition to the preprocessed/cleaned/labeled data (e.g., to support unanticipated future uses)?"),
    ("preprocessing.software", "Is the software used to preprocess/clean/label the instances available?"),
    ("preprocessing.other", "Any other comments?"),
    ("uses.already", "Has the dataset been used for any tasks already?"),
    ("uses.repository", "Is there a repository that links to any or all papers or systems that use the dataset?"),
    ("uses.tasks", "What (other) tasks could the dataset be used for?"),
    ("uses.impact", "Is there anything about the composition of the dataset or the way it was collected and preprocessed/cleaned/labeled that might impact future uses?"),
    ("uses.not_for", "Are there tasks for which the dataset should not be used?"),
    ("uses.other", "Any other comments?"),
    ("distribution.third_parties", "Will the dataset be distributed to third parties outside of the entity (e.g., company, institution, organization) on behalf of which the dataset was created?"),
    ("distribution.how", "How will the dataset will be distributed (e.g., tarball on website, API, GitHub)?"),
    ("distribution.when", "When will the dataset be distributed?"),
    ("distribution.license", "Will the dataset be distributed under a copyright or other intellectual property (IP) license, and/or under applicable terms of use (ToU)?"),
    ("distribution.third_party_ip", "Have any third parties imposed IP-based or other restrictions on the data associated with the instances?"),
    ("distribution.export", "Do any export controls or other regulatory restrictions apply to the dataset or to individual instances?"),
    ("distribution.other", "Any other comments?"),
    ("maintenance.who", "Who will be supporting/hosting/maintaining the dataset?"),
    ("maintenance.contact", "How can the owner/curator/manager of the dataset be contacted (e.g., email address)?"),
    ("maintenance.erratum", "Is there an erratum?"),
    ("maintenance.updates", "Will the dataset be updated (e.g., to correct labeling errors, add new instances, delete instances)?"),
    ("maintenance.retention", "If the dataset relates to people, are there applicable limits on the retention of the data associated with the instances (e.g., were individuals in question told that their data would be retained for a fixed period of time and then deleted)?"),
    ("maintenance.older_versions", "Will older versions of the dataset continue to be supported/hosted/maintained?"),
    ("maintenance.extend", "If others want to extend/augment/build on/contribute to the dataset, is there a mechanism for them to do so?"),
    ("maintenance.other", "Any other comments?"),
]
QUESTION_TEXT = dict(QUESTIONS)

ABOUT: list[tuple[str, str, bool]] = [
    # key, what to write, required
    ("about.pretty_name", "The dataset's title on the Hub (default: the campaign's name).", False),
    ("about.curators", "Who curates the dataset: the community group or organisation, and its role. Names of contributors never go here.", True),
    ("about.url", "Where the dataset lives, e.g. https://huggingface.co/datasets/ORG/NAME.", True),
    ("about.compensation_basis", "How the rates were set, e.g. compared with local day wages, agreed with the community.", True),
    ("about.benefit_statement", "NOODL only: the benefit or value that recipients outside developing countries owe the community before use.", False),
    ("about.citation_authors", "Authors for CITATION.cff, e.g. the community group (default: the curators).", False),
]


OLDER_VERSIONS = (
    "Older versions stay on the Hub under their tags (v1.0.0, v1.1.0, ...) and keep the files "
    "they were published with, withdrawn items included; the repository's main branch always "
    "holds exactly the latest version. withdrawn.csv lists every item id that an earlier "
    "version published and this one does not hold, since the first version: anyone who keeps "
    "a copy of an earlier version should drop those ids from it."
)
"""What older versions keep and how to apply withdrawn.csv, said wherever it matters."""


def record_answers(ctx: "Context") -> dict[str, str]:
    """The answers the records give, keyed like QUESTIONS."""
    f, facts = ctx.found, ctx.facts
    kinds = ", ".join(ctx.found.kinds()) or "none"
    per_kind = "; ".join(f"{k}: {n:,}" for (k,), n in ctx.by(0).items()) or "none"
    per_split = "; ".join(f"{s}: {n:,}" for (s,), n in ctx.by(1).items()) or "none"
    per_lang = "; ".join(f"{lang['tag']} ({lang['name']}): {lang['count']:,}" for lang in ctx.languages())
    removed = ctx.removed()
    removed_text = "; ".join(f"{k.replace('_', ' ')}: {n:,}" for k, n in removed.items()) or "nothing"
    statuses = "; ".join(f"{k}: {v:,}" for k, v in sorted(facts.status_counts.items()))
    timeframe = (f"from {f.first.date().isoformat()} to {f.last.date().isoformat()}"
                 if f.first and f.last else "not recorded")
    voice = "speech" in ctx.found.kinds()
    authors, reviewers = ctx.people("authors"), ctx.people("reviewers")
    comp = ctx.compensation()
    imported = f.sources.get("import", 0)
    return {
        "composition.instances": f"Each instance is one item written or recorded by a member of the community, of one of these kinds: {kinds}.",
        "composition.count": f"{f.total:,} items in this release. By kind: {per_kind}. By split: {per_split}. By language: {per_lang}. Counts by dialect and domain are in README.md.",
        "composition.sample": f"It holds every item of the campaign that peer review accepted and that passed the release gates, not a sample. Campaign items by status: {statuses}. Left out at release: {removed_text}.",
        "composition.data": "Each row carries a stable id, item version, kind, BCP-47 language tag, dialect, domain, split, the author's and reviewers' pseudonyms and the consent version, plus the kind's fields described in README.md (Dataset Structure).",
        "composition.label": "The reference response or answers (and, for contextual items, the rubric and red flags) are the targets a model's output is compared with; speech items carry a transcript.",
        "composition.missing": "Optional fields (dialect, persona, red flags, the spoken prompt) are empty when the contributor did not give them. No value was imputed.",
        "composition.relationships": "Items are independent. Items by the same author share the author pseudonym; edits keep the item id and raise its version.",
        "composition.splits": f"Yes: validation and test, assigned by a hash of each item's stable id (about 20% validation), so an item never changes split between versions. There is no training split: this is an evaluation benchmark. {per_split}.",
        "composition.errors": f"Every item was accepted by peer review ({facts.rule.describe()}); reviewers can still disagree ({ctx.agreement_text()}). Exact and near duplicates (MinHash candidates whose word shingles have a Jaccard similarity of 0.7 or more) were removed, keeping the first.",
        "composition.self_contained": "Yes. Audio is embedded in the parquet files; nothing links to external resources.",
        "composition.confidential": "Contributors were asked not to include confidential or personal information, reviewers could reject items for personal data, and every text was scanned for emails, phone numbers and id numbers before release.",
        "composition.offensive": "Contextual items may describe harmful answers in their red flags, so that models can be checked against them; reviewers rejected items that were themselves harmful.",
        "composition.people": "Yes: every item was written or recorded by a person, and questions describe situations people face.",
        "composition.subpopulations": "Rows identify language and dialect. Self-described contributor demographics are published only as counts, with groups under five people suppressed (see DATA_STATEMENT.md).",
        "composition.identifiable": "Contributors appear only as stable pseudonyms; names and contacts never leave the private store. " + ("Voices in speech recordings can identify a speaker to someone who knows them; users must not try to identify speakers." if voice else "No voice recordings are included."),
        "composition.sensitive": "Items in domains such as health may discuss health conditions in general terms. Texts were scanned for contact details and id numbers; flagged items were excluded or checked by an organiser" + (f" ({f.pii_cleared:,} cleared after checking)." if f.pii_cleared else "."),
        "collection.acquired": f"Written or recorded directly by community members in the jamii collector (items from the collector: {f.sources.get('collector', 0):,}" + (f"; imported from earlier community work: {imported:,}" if imported else "") + "), then reviewed by peers." + (f" Source data: {ctx.imports_text()}. Imported items carry no contributor consent; they are republished under the licence of their source, and imported rows without a republication licence were left out." if imported else ""),
        "collection.mechanisms": "The jamii collector (a web app usable on phones), with browser audio recording for speech; peer review in the same app; the release built by `jamii release`.",
        "collection.sampling": "Not a sample: every accepted item that passed the gates is included.",
        "collection.who": f"Community members: {authors} authors and {reviewers} reviewers in this release. They were paid per accepted item, review, rating and minute of recording at the rate card's rates (see compensation.md for rates and totals by activity and language" + ("" if comp else "; no payments are recorded") + ").",
        "collection.timeframe": f"Items in this release were written {timeframe}.",
        "collection.people": "Yes.",
        "collection.direct": "Directly from the individuals, who wrote or recorded the items themselves." + (f" Except {imported:,} items obtained from earlier published work, each under a licence that allows republishing it: {ctx.imports_text()}." if imported else ""),
        "collection.notified": f"Yes: every contributor read the consent text before contributing. The texts, verbatim by version and language, are in consent/ ({len(facts.consent_texts)} text(s)).",
        "collection.consent": "Yes. Each contributor chose each scope (open publication, model evaluation, voice) explicitly; only items whose author consented to open publication (and, for speech, to voice) and has not withdrawn are released.",
        "collection.revoke": f"Yes: contributors can withdraw in the collector at any time; their items leave every later release and are listed, with every item withdrawn since the first version, in withdrawn.csv and CHANGELOG.md. Withdrawn contributors so far: {ctx.withdrawn_people()}.",
        "preprocessing.done": f"Texts were normalised to Unicode NFC; items were scanned for personal data; exact and near duplicates were removed; splits were assigned by hash. Left out at release: {removed_text}.",
        "preprocessing.raw": "The private store keeps every item, earlier versions and all reviews; it is not published, because it holds withdrawn and unconsented items.",
        "preprocessing.software": "Yes: jamii, open-source (`jamii release`).",
        "uses.impact": f"Dialects and domains are unevenly represented (see README.md); small dialect groups give wide confidence intervals. Contributors were self-selected volunteers paid for their work. {ctx.agreement_text()}",
        "distribution.third_parties": "Yes: it is published openly for anyone to use under its licence.",
        "distribution.how": "As parquet files with a dataset card, datasheet, data statement and Croissant metadata, on the Hugging Face Hub (loadable with `datasets.load_dataset`).",
        "distribution.when": f"Version {ctx.version} was built on {ctx.released.isoformat()}.",
        "distribution.license": f"{ctx.licence.name} ({ctx.licence.url}). " + ("Eligible as a Digital Public Good licence." if ctx.licence.dpg_eligible else "Not on the DPG open-data licence list, so the release is not DPG-eligible.") + (" Recipients outside developing countries owe the benefit stated in BENEFIT.md." if ctx.licence.needs_benefit else ""),
        "maintenance.erratum": "CHANGELOG.md lists what each version added, changed and withdrew; withdrawn.csv lists every item withdrawn or removed since the first version.",
        "maintenance.retention": "Contributors may withdraw consent at any time; withdrawn items are removed from every later release. " + OLDER_VERSIONS + " Copies already downloaded cannot be recalled.",
        "maintenance.older_versions": "Yes, as they were: " + OLDER_VERSIONS,
        "maintenance.extend": "Yes: community members join the campaign with an invite code in the jamii collector; others can open an issue or discussion on the dataset's repository.",
    }


def answers_for(ctx: "Context") -> dict[str, str]:
    """The final answer to each question: the records' answer, then the organiser's note."""
    recorded = record_answers(ctx)
    out = {}
    for key, _ in QUESTIONS:
        parts = [recorded.get(key, ""), ctx.answers.get(key, "")]
        out[key] = "\n\n".join(p.strip() for p in parts if p and p.strip())
    return out


def missing_answers(recorded_keys: set[str], answers: dict[str, str], *, needs_benefit: bool) -> list[str]:
    """Reasons for every question (and `about` field) still unanswered."""
    reasons = []
    for key, question in QUESTIONS:
        if key in recorded_keys:
            continue
        problem = _answer_problem(answers.get(key))
        if problem:
            reasons.append(f"datasheet question `{key}` ({question}) {problem}")
    for key, what, required in ABOUT:
        if required or (key == "about.benefit_statement" and needs_benefit):
            problem = _answer_problem(answers.get(key))
            if problem:
                reasons.append(f"`{key}` ({what}) {problem}")
    return reasons


def _answer_problem(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text or text.upper().startswith("TODO"):
        return "is not answered: answer it in the answers file, or write 'N/A: <reason>'"
    if text.upper().startswith("N/A"):
        reason = text[3:].lstrip(" :-").strip()
        if not reason:
            return "says N/A without a reason: write 'N/A: <reason>'"
    return None


def render(ctx: "Context", env, *, withdrawn: list | None = None) -> str:
    """`withdrawn`: the rows of withdrawn.csv (`_bundle.withdrawals`)."""
    answers = answers_for(ctx)
    sections = []
    for prefix, title in SECTIONS.items():
        qs = [(QUESTION_TEXT[k], answers[k]) for k, _ in QUESTIONS if k.startswith(prefix + ".")]
        sections.append({"title": title, "questions": qs})
    withdrawn = withdrawn or []
    new = sum(g.removed_in == ctx.version for g in withdrawn)
    return env.get_template("DATASHEET.md.j2").render(ctx=ctx, sections=sections,
                                                      withdrawn=withdrawn, new_withdrawn=new)
