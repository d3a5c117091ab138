"""roto-server: the whole control unit (state, APIs, streams) in one Sanic process."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("roto")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"
