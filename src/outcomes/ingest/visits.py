"""Visit records that meet the data contract: :class:`LoadedVisits`.

The canonical visits frame (see ``docs/architecture.md``) plus every excluded row with its
reason, as :func:`outcomes.ingest.load.load_visits` returns them.

Examples
--------
>>> import pandas as pd
>>> from outcomes.ingest.load import load_visits
>>> frame = pd.DataFrame({"patient_id": ["P01", "P01", "P02"], "visit_day": [0, 7, 0],
...                       "measure": "pain_nprs", "value": [6, 3, 5]})
>>> loaded = load_visits(frame)
>>> loaded.n_patients, loaded.n_episodes, loaded.n_visits, loaded.measures
(2, 2, 3, ('pain_nprs',))
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["LoadedVisits"]


@dataclass(frozen=True)
class LoadedVisits:
    """Visit records that meet the data contract.

    Attributes
    ----------
    visits : DataFrame
        Canonical long frame, one row per measurement, sorted by ``episode_id``,
        ``visit_number``, ``measure``, ``side`` (columns in ``docs/architecture.md``).
    exclusions : DataFrame
        Rows (and columns) left out, with columns ``row``, ``column``, ``rule``,
        ``reason``; column notes carry the header row number 1.
    source : str
        File name as given, or ``"<DataFrame>"``.
    sha256 : str
        SHA-256 of the input file's bytes.
    """

    visits: pd.DataFrame
    exclusions: pd.DataFrame
    source: str
    sha256: str

    @property
    def n_patients(self) -> int:
        """Number of distinct patients."""
        return int(self.visits["patient_id"].nunique())

    @property
    def n_episodes(self) -> int:
        """Number of distinct episodes of care."""
        return int(self.visits["episode_id"].nunique())

    @property
    def n_visits(self) -> int:
        """Number of distinct (episode, visit_number) pairs with at least one measurement."""
        return len(self.visits[["episode_id", "visit_number"]].drop_duplicates())

    @property
    def measures(self) -> tuple[str, ...]:
        """Measure codes present, sorted."""
        return tuple(sorted(self.visits["measure"].unique()))

    def describe(self) -> str:
        """A short plain-text summary (what ``outcomes validate`` prints).

        Examples
        --------
        >>> import pandas as pd
        >>> from outcomes.ingest.load import load_visits
        >>> frame = pd.DataFrame({"patient_id": ["P01", "P01", "P01"], "visit_day": [0, 7, 7],
        ...                       "measure": "pain_nprs", "value": [6, 3, 3]})
        >>> print(load_visits(frame).describe())  # doctest: +NORMALIZE_WHITESPACE
        <DataFrame> (sha256 ...)
        patients: 1   episodes: 1   visits: 2   measurements: 2
        measurements by measure:
          pain_nprs  2
        excluded or ignored: 1
          exact_duplicate  1
        """
        lines = [
            f"{self.source} (sha256 {self.sha256[:12]}...)" if len(self.sha256) > 12 else self.source,
            f"patients: {self.n_patients}   episodes: {self.n_episodes}   visits: {self.n_visits}   "
            f"measurements: {len(self.visits)}",
            "measurements by measure:",
        ]
        counts = self.visits["measure"].value_counts().sort_index()
        width = max((len(str(m)) for m in counts.index), default=0)
        lines += [f"  {m:<{width}}  {n}" for m, n in counts.items()]
        by_rule = self.exclusions["rule"].value_counts().sort_index()
        lines.append(f"excluded or ignored: {int(by_rule.sum())}")
        width = max((len(str(r)) for r in by_rule.index), default=0)
        lines += [f"  {r:<{width}}  {n}" for r, n in by_rule.items()]
        return "\n".join(lines)
