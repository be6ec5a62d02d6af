"""The jamii dashboard: leaderboards with intervals, coverage, representation, agreement, pay.

`jamii dashboard` runs `streamlit run dashboard/app.py`. The pages are thin; the numbers come
from plain modules that tests call without Streamlit:

- `leaderboard`: results folders of `jamii evaluate` (JAMII_RESULTS) ranked per metric;
- `coverage`: items per language/dialect/domain/kind and status against campaign targets;
- `representation`: self-described profiles against targets, with the rule of five;
- `agreement`: approval rates and Krippendorff's alpha per language;
- `compensation`: ledger totals by activity, language, unit and status, never per person.
"""
