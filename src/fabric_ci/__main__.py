"""`python -m fabric_ci <command>` and the `fabric-ci` script: both start here.

Importing fabric_ci.cli takes a few tenths of a second, most of the time before a command's signal
handlers are in place (cli.cancellable): a Ctrl-C then ended in a KeyboardInterrupt traceback. It
ends with one line and exit 130 (nothing has been sent yet). The few hundredths of a second between
the import and the handlers (parsing the command line) are not covered."""

import sys


def start() -> int:
    try:
        from fabric_ci.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("Cancelled by SIGINT while starting: nothing was sent.\n")
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(start())
