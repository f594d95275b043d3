"""fabric-ci: run Microsoft Fabric / Power BI deployment pipelines from CI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fabric-ci")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
