"""``python -m xynergy SERVICE …`` runs one service (see ``xynergy.cli``)."""

from __future__ import annotations

import sys

from xynergy.cli import main

if __name__ == "__main__":
    sys.exit(main())
