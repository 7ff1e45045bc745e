"""Install the repository's top-level folders as one package, `volmatch`.

The folders `models/`, `matching/`, `scenarios/` and `api/` stay at the top of the
repository (the layout our users asked for) and are installed as `volmatch.models`,
`volmatch.matching`, `volmatch.scenarios` and `volmatch.api`, so that nothing of ours
lands in site-packages under a generic name (PyPI's `matching` keeps its own).
`benchmarks/` and `tests/` stay out of the wheel. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

TOPS = ("models", "matching", "scenarios", "api")

setup(
    packages=[
        f"volmatch.{top}{'.' + sub if sub else ''}"
        for top in TOPS
        for sub in ["", *find_packages(top)]
    ],
    package_dir={f"volmatch.{top}": top for top in TOPS},
)
