"""winback: find customers who are leaving, decide whom to win back, draft the letters.

The package is a library first; `winback_cli.cli` is the thin command-line layer
on top of it. Nothing here imports pandas at import time, so `winback --help`
stays fast.
"""

__version__ = "0.1.0"
