"""search, show, lineage and curate: the catalogue API's reads and curated edits from the terminal."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to the `metaferry` parser."""
