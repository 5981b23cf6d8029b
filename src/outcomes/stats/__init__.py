"""Statistics that know nothing about files: arrays and tidy frames in, tidy frames out.

=================  =========================================================
module             estimators
=================  =========================================================
``proportions``    Wilson interval, exact one-sided binomial test
``survival``       Kaplan-Meier cumulative incidence (log-log, log, likelihood-ratio CI), median, log-rank
``paired``         mean / median / Hodges-Lehmann change, d_z (= SRM), Kazis ES
``mixed``          REML trajectory model (random intercept and slope)
``reml``           the same REML from per-group sums, for registry-sized data
``multiplicity``   Holm and Benjamini-Hochberg adjusted p-values
``dropout``        delta-adjusted Kaplan-Meier share and its tipping point
=================  =========================================================

Examples
--------
>>> from outcomes.stats import wilson_ci
>>> [round(x, 4) for x in wilson_ci(0, 32)]
[0.0, 0.1072]
"""

from outcomes.stats import survival
from outcomes.stats.dropout import delta_adjusted_share, tipping_point
from outcomes.stats.mixed import TrajectoryFit, fit_trajectory
from outcomes.stats.multiplicity import benjamini_hochberg, holm
from outcomes.stats.paired import hodges_lehmann, paired_change
from outcomes.stats.proportions import proportion_summary, wilson_ci
from outcomes.stats.reml import RemlFit, reml_fit
from outcomes.stats.survival import *  # noqa: F403 - all of survival.__all__, added to __all__ below

__all__ = [
    "RemlFit",
    "TrajectoryFit",
    "benjamini_hochberg",
    "delta_adjusted_share",
    "fit_trajectory",
    "hodges_lehmann",
    "holm",
    "paired_change",
    "proportion_summary",
    "reml_fit",
    "tipping_point",
    "wilson_ci",
]
__all__ += survival.__all__
