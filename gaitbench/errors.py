"""The one exception type for user errors.

A `GaitbenchError` carries a single line that names the offending thing and the fix
("store data/casia-b-64.h5 not found: run `gaitbench prep casia-b` first"). The CLI prints it
without a traceback and exits with status 1; anything else is a bug and keeps its traceback.
"""


class GaitbenchError(Exception):
    """A user error: bad input, missing file, unknown name. The message is one line."""
