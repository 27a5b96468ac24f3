"""User errors: the one exception type every entry point raises for a bad input, and the one place that turns it
into a message and an exit status.

A user's mistake (a bad annotation file, image, config key, results file or argument) is a `UserInputError` naming
the file, the item inside it (record, field, key), what was expected and what was found. Each CLI's
``if __name__ == "__main__"`` block calls `run_cli(main, prog)`, which prints such an error as one or a few lines on
stderr and returns exit status `EXIT_USER_ERROR`, without a traceback unless $DENSEPOSE_DEBUG is set (then the
exception propagates unchanged). Programming errors are not caught: their traceback is the useful report.

Exit statuses shared by every CLI: 0 all done, 1 (`EXIT_SKIPPED`) some items of a folder, glob, video or file were
reported by name and skipped while the rest completed, 2 (`EXIT_USER_ERROR`, as argparse's usage errors) nothing done,
130 (`EXIT_INTERRUPTED`, as shells report SIGINT) stopped by Ctrl-C: one line, no traceback; what each CLI had
finished stays (its docs say how to resume).
"""
from __future__ import annotations

import logging
import os
import re
import sys
from typing import Callable, Optional, Sequence

DEBUG_ENV = "DENSEPOSE_DEBUG"
EXIT_SKIPPED = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class UserInputError(ValueError):
    """A file, argument or config entry the user gave is not what the project expects.

    Attributes:
        source: the file (or command-line option) holding the bad input.
        item: the record, field or key inside `source`, or None when the whole of it is at fault.
        expected: what the project accepts there.
        found: what it found instead.
    """

    def __init__(self, source: str, expected: str, found: str, item: Optional[str] = None,
                 message: Optional[str] = None):
        self.source, self.expected, self.found, self.item = str(source), expected, found, item
        where = f"{self.source}: {item}" if item else self.source
        # `message` keeps an established wording (several problems, a hint) where the fields alone say less.
        super().__init__(message or f"{where}: expected {expected}, found {found}")

    def __reduce__(self):
        # Rebuilt from its fields when pickled (dataloader workers, multiprocessing).
        return type(self), (self.source, self.expected, self.found, self.item, str(self))


def debug_requested() -> bool:
    """True when $DENSEPOSE_DEBUG asks for tracebacks (any value but empty or 0)."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _os_error_message(error: OSError) -> str:
    # open() and friends put the path in `filename`; "expected/found" in their words: the path, then why.
    if error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    return str(error)


# torch's DataLoader re-raises a worker's exception in the main process as "Caught <Name> in DataLoader worker
# process <k>.\nOriginal Traceback ...\n<module>.<Name>: <message>", as a RuntimeError when <Name> cannot be built
# from that text alone (UserInputError cannot: it needs expected and found).
_WORKER_ERROR = re.compile(r"Caught (\w+) in DataLoader worker process \d+\.\nOriginal Traceback")


def worker_user_error(error: BaseException) -> Optional[str]:
    """The message of a UserInputError raised in a torch DataLoader worker (e.g. by a dataset mapper) and re-raised
    by torch in the main process, or None when `error` is not one."""
    header = _WORKER_ERROR.match(str(error))
    if header is None:
        return None
    text, name = str(error), header.group(1)
    lines = list(re.finditer(rf"^([\w.]+)\.{name}: ", text, re.MULTILINE))  # the last one is the raised exception's
    cls = getattr(sys.modules.get(lines[-1].group(1)), name, None) if lines else None
    if not (isinstance(cls, type) and issubclass(cls, UserInputError)):
        return None
    return text[lines[-1].end():].strip()


def _user_error_message(error: BaseException) -> Optional[str]:
    """What run_cli prints for `error`, or None when it is no user error (a programming error keeps its traceback)."""
    if isinstance(error, UserInputError):
        return str(error)
    if isinstance(error, OSError):
        return _os_error_message(error)
    return worker_user_error(error)


def drop_user_error_tracebacks(record: logging.LogRecord) -> bool:
    """logging filter: False for a record carrying a user error run_cli will print (detectron2's trainer logs
    every exception with its traceback before re-raising it), unless $DENSEPOSE_DEBUG asks for tracebacks."""
    error = record.exc_info[1] if record.exc_info else None
    return error is None or debug_requested() or _user_error_message(error) is None


def run_cli(main: Callable[..., Optional[int]], prog: str, argv: Optional[Sequence[str]] = None) -> int:
    """Run `main(argv)` and return its exit status (anything but an int counts as 0); user errors become a message and
    `EXIT_USER_ERROR`.

    A `UserInputError` (also one raised in a torch DataLoader worker: worker_user_error), or an OSError on a path
    the user gave (missing file, folder given for a file, no permission), is printed as ``<prog>: error: <message>``
    on stderr. Ctrl-C (KeyboardInterrupt) prints ``<prog>: interrupted`` and returns `EXIT_INTERRUPTED`. With
    $DENSEPOSE_DEBUG set both propagate.
    """
    try:
        status = main(argv) if argv is not None else main()
    except KeyboardInterrupt:
        if debug_requested():
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        message = _user_error_message(error)
        if message is None or debug_requested():
            raise
        print(f"{prog}: error: {message}", file=sys.stderr)
        print(f"({prog}: set {DEBUG_ENV}=1 for the traceback)", file=sys.stderr)
        return EXIT_USER_ERROR
    # Some mains return their report (a dict) for in-process callers: that is success.
    return status if isinstance(status, int) else 0
