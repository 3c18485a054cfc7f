"""User-facing errors.

Anything the user can fix (a wrong path, a corrupt file, a bad config value) is raised as `VireidError` with a
message that says what is wrong and what to do. The CLI prints it as one line and exits non-zero, without a
traceback; everything else is a bug and keeps its traceback.
"""


class VireidError(Exception):
    """An error caused by the user's input, reported as one line by the CLI."""

    exit_code = 1
