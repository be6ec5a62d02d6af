"""croissant.json: Croissant 1.1 with the RAI 1.0 fields, built with mlcroissant's Python API
and validated with it; plus our own checks of the fields mlcroissant only warns about or
never checks (licence, date, creator, every RAI field)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from jamii.core.schema import arrow_schema, column_descriptions
from jamii.datasheets._bundle import WITHDRAWN_COLUMNS, WITHDRAWN_FILE
from jamii.datasheets._datasheet import answers_for

if TYPE_CHECKING:
    from jamii.datasheets._context import Context

CONFORMS_TO = ["http://mlcommons.org/croissant/1.1", "http://mlcommons.org/croissant/RAI/1.0"]
REQUIRED = ["name", "description", "license", "url", "creator", "datePublished", "version"]
RAI_FIELDS = [
    "rai:dataCollection", "rai:dataCollectionType", "rai:dataCollectionMissingData",
    "rai:dataCollectionRawData", "rai:dataCollectionTimeframe", "rai:dataPreprocessingProtocol",
    "rai:dataAnnotationProtocol", "rai:dataAnnotationPlatform", "rai:dataAnnotationAnalysis",
    "rai:annotationsPerItem", "rai:annotatorDemographics", "rai:machineAnnotationTools",
    "rai:dataBiases", "rai:dataLimitations", "rai:dataUseCases", "rai:dataSocialImpact",
    "rai:personalSensitiveInformation", "rai:dataReleaseMaintenancePlan",
    "rai:dataImputationProtocol", "rai:dataManipulationProtocol",
]

RAI_SPELLINGS = {
    "rai:dataCollectionTimeframe": "rai:dataCollectionTimeFrame",
    "rai:dataManipulationProtocol": "rai:dataDataManipulationProtocol",
}
"""How mlcroissant 1.1.1 writes two RAI names; either spelling passes our check."""


WITHDRAWN_DESCRIPTION = (
    "Every item id that an earlier version published and this version does not hold, "
    "cumulative since the first version. Older versions keep their files under their tags: "
    "drop these ids from any copy of an earlier version.")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _data_type(mlc, t: pa.DataType):
    if pa.types.is_integer(t):
        return mlc.DataType.INTEGER
    if pa.types.is_floating(t):
        return mlc.DataType.FLOAT
    if pa.types.is_boolean(t):
        return mlc.DataType.BOOL
    return mlc.DataType.TEXT


def _fields(mlc, kind: str, split: str, file_id: str) -> list:
    descriptions = column_descriptions(kind)
    out = []
    for f in arrow_schema(kind):
        fid = f"{kind}_{split}/{f.name}"
        common = dict(id=fid, name=f.name, description=descriptions[f.name],
                      source=mlc.Source(file_object=file_id, extract=mlc.Extract(column=f.name)))
        if f.name == "audio":
            out.append(mlc.Field(data_types=[mlc.DataType.AUDIO_OBJECT], **common))
        elif pa.types.is_list(f.type) and pa.types.is_struct(f.type.value_type):
            out.append(mlc.Field(data_types=[mlc.DataType.TEXT], is_array=True,
                                 array_shape="-1", **common))
        elif pa.types.is_list(f.type):
            out.append(mlc.Field(data_types=[_data_type(mlc, f.type.value_type)], is_array=True,
                                 array_shape="-1", **common))
        else:
            out.append(mlc.Field(data_types=[_data_type(mlc, f.type)], **common))
    return out


def build(ctx: "Context", root: Path) -> dict[str, Any]:
    import mlcroissant as mlc

    a = answers_for(ctx)
    distribution, record_sets = [], []
    for (kind, split), rels in sorted(ctx.found.parts.items()):
        for i, rel in enumerate(rels):
            # one part (the usual case) keeps the plain ids; parts of a large release are
            # numbered, each its own file object and record set
            tag = "" if len(rels) == 1 else f"-{i:05d}"
            path = root / rel
            file_id = f"{kind}-{split}{tag}-parquet"
            distribution.append(mlc.FileObject(
                id=file_id, name=file_id, description=f"{kind} items, {split} split",
                content_url=rel, content_size=f"{path.stat().st_size} B",
                encoding_formats=["application/x-parquet"], sha256=sha256_file(path)))
            rs = f"{kind}_{split}{tag.replace('-', '_')}"
            record_sets.append(mlc.RecordSet(
                id=rs, name=rs, description=f"{kind} items of the {split} split",
                fields=_fields(mlc, kind, split + tag.replace("-", "_"), file_id)))
    withdrawn = root / WITHDRAWN_FILE
    if withdrawn.exists():
        # machine-readable with the data: Croissant users find the ids to drop from older copies
        distribution.append(mlc.FileObject(
            id="withdrawn-csv", name="withdrawn-csv",
            description=WITHDRAWN_DESCRIPTION, content_url=WITHDRAWN_FILE,
            content_size=f"{withdrawn.stat().st_size} B", encoding_formats=["text/csv"],
            sha256=sha256_file(withdrawn)))
        record_sets.append(mlc.RecordSet(
            id="withdrawn", name="withdrawn", description=WITHDRAWN_DESCRIPTION,
            fields=[mlc.Field(id=f"withdrawn/{name}", name=name, description=text,
                              data_types=[mlc.DataType.TEXT],
                              source=mlc.Source(file_object="withdrawn-csv",
                                                extract=mlc.Extract(column=name)))
                    for name, text in WITHDRAWN_COLUMNS.items()]))
    timeframe = [d.isoformat() for d in (ctx.found.first, ctx.found.last) if d is not None]
    metadata = mlc.Metadata(
        name=ctx.name,
        description=f"{ctx.title}. {ctx.campaign.description}".strip(),
        url=ctx.url,
        license=[ctx.licence.url],
        creators=[mlc.Organization(name=ctx.curators)],
        date_published=ctx.released.isoformat(),
        version=ctx.version,
        cite_as=f"{ctx.curators} ({ctx.released.year}). {ctx.title}, version {ctx.version}. {ctx.url}",
        in_language=[lang["tag"] for lang in ctx.languages()],
        keywords=["jamii", "low-resource languages", "community-collected", "benchmark"],
        conforms_to=CONFORMS_TO[0],
        distribution=distribution,
        record_sets=record_sets,
        data_collection=a["collection.acquired"] + " " + a["collection.mechanisms"],
        data_collection_type=["User-generated content data", "Manual Human Curator"],
        data_collection_missing_data=a["composition.missing"],
        data_collection_raw_data=a["preprocessing.raw"],
        data_collection_timeframe=timeframe or None,
        data_preprocessing_protocol=[a["preprocessing.done"]],
        data_annotation_protocol=f"Peer review: {ctx.facts.rule.describe()}.",
        data_annotation_platform=["jamii collector"],
        data_annotation_analysis=[ctx.agreement_text()],
        annotations_per_item=f"{ctx.facts.agreement['mean_votes_per_item']:.2f} review votes per item on average",
        annotator_demographics=[_demographics(ctx, "reviewers")],
        machine_annotation_tools=["None: every label is human; the personal-data scan and "
                                  "duplicate removal are automated filters."],
        data_biases=[a["uses.impact"]],
        data_limitations=[a["uses.impact"]],
        data_use_cases=[a["uses.tasks"]],
        data_social_impact=a["motivation.purpose"],
        personal_sensitive_information=[a["composition.identifiable"], a["composition.sensitive"]],
        data_release_maintenance_plan=a["maintenance.updates"] + " " + a["maintenance.retention"],
        data_imputation_protocol="N/A: no values were imputed.",
        data_manipulation_protocol=a["preprocessing.done"],
    )
    doc = metadata.to_json()
    conforms = doc.get("dct:conformsTo") or doc.get("conformsTo")
    doc["conformsTo" if "conformsTo" in doc else "dct:conformsTo"] = CONFORMS_TO if conforms else CONFORMS_TO
    return doc


def _demographics(ctx: "Context", who: str) -> str:
    parts = [f"{ctx.people(who)} people"]
    for field, counts in ctx.demographics(who).items():
        if counts:
            parts.append(f"{field}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return "; ".join(parts) + " (self-described; groups under five suppressed)."


def problems(path: Path) -> list[str]:
    """mlcroissant's validation errors, then ours: required fields and every RAI field."""
    import mlcroissant as mlc

    out = []
    try:
        mlc.Dataset(jsonld=str(path))
    except mlc.ValidationError as exc:
        out.append(f"croissant.json fails mlcroissant validation: {exc}")
    doc = json.loads(path.read_text("utf-8"))
    for key in REQUIRED:
        if not doc.get(key):
            out.append(f"croissant.json lacks the required field `{key}`")
    conforms = doc.get("conformsTo") or doc.get("dct:conformsTo") or []
    conforms = conforms if isinstance(conforms, list) else [conforms]
    for url in CONFORMS_TO:
        if url not in conforms:
            out.append(f"croissant.json does not declare conformsTo {url}")
    for key in RAI_FIELDS:
        value = doc.get(key) or doc.get(RAI_SPELLINGS.get(key, key))
        if not value or (isinstance(value, list) and not all(value)):
            out.append(f"croissant.json lacks the RAI field `{key}`")
    for fo in doc.get("distribution", []):
        if fo.get("@type") in ("cr:FileObject", "sc:FileObject") and not fo.get("sha256"):
            out.append(f"croissant.json file {fo.get('contentUrl')} has no sha256")
    return out
