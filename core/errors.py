"""The error every command reports as a message for the user (exit code 2), not as a traceback:
bad input files, a bad configuration, an unusable run or state folder, a failed import."""


class UserError(Exception):
    """Something the user can fix; the message names the file, row, field or setting and how."""
