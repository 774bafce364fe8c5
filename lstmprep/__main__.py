"""``python -m lstmprep`` and the ``lstmprep`` command: start the CLI, Ctrl-C included.

The CLI's modules are imported inside ``main`` so that a Ctrl-C while they load still ends
with one line and exit code 130, not a traceback.
"""

import sys


def main() -> None:
    try:
        from .cli import main as run

        run()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
