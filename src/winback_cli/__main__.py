"""Let `python -m winback_cli` run the command-line interface."""

from winback_cli.cli import main

if __name__ == "__main__":
    main()
