"""Release folders: build one from the store (`build_release`), publish it (`publish_release`).

    from jamii.datasheets import build_release, ReleaseRefused
    try:
        build_release(store, "mazao-na-afya", "1.0.0", "out/v1", answers="answers.yaml")
    except ReleaseRefused as refused:
        print(*refused.reasons, sep="\\n")

The folder is what DESIGN section 6 describes: parquet per kind and split, the dataset card,
datasheet, data statement, Croissant metadata, licence, changelog, citation, consent texts and
compensation totals. It is built beside its destination and renamed into place only when every
gate and validation passed.
"""

from jamii.datasheets._build import ReleaseRefused, ReleaseResult, build_release, template_for
from jamii.datasheets._publish import PublishPlan, publish_release

__all__ = ["PublishPlan", "ReleaseRefused", "ReleaseResult", "build_release", "publish_release",
           "template_for"]
