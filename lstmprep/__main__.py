"""``python -m lstmprep`` and the ``lstmprep`` command: start the CLI, Ctrl-C included.

SIGTERM and SIGHUP are handled like Ctrl-C (see ``lstmprep.signals``), from the very start.
The CLI's modules are imported inside ``main`` so that a Ctrl-C (or SIGTERM) while they load
still ends with one line and exit code 130 (143 for SIGTERM, 129 for SIGHUP), not a traceback.
"""

import sys


def main() -> None:
    from .signals import install, pending

    try:
        install()
        from .cli import main as run

        run()
    except KeyboardInterrupt as e:  # signals.Terminated too
        sys.stderr.write(getattr(e, "message", "interrupted") + "\n")
        raise SystemExit(getattr(e, "exit_code", 130)) from None
    except SystemExit as e:  # click turns a signal outside a command into "Aborted!", exit 1
        late = pending()
        if late is not None and e.code != late.exit_code:
            sys.stderr.write(late.message + "\n")
            raise SystemExit(late.exit_code) from None
        raise


if __name__ == "__main__":
    main()
