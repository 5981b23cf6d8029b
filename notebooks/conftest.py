"""pytest configuration for notebooks/: only the .ipynb files are tests (strict nbval).

The jupytext ``.py`` twins are the reviewable sources of the notebooks; importing them
(``--doctest-modules``) would run a whole analysis, so they are not collected.
"""

collect_ignore_glob = ["*.py", ".ipynb_checkpoints/*"]
