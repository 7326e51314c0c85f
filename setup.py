"""Everything is in pyproject.toml except the one thing it cannot say: the weights committed
under models/ at the repository root ship inside the wheel as the package data
``scanlab/models/`` (found there by :func:`scanlab.detect.models_dir` once installed)."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["scanlab", "scanlab.*"]), "scanlab.models"],
    package_dir={"scanlab.models": "models"},
)
