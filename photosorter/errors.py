"""One exception tree for everything photosorter reports to a person.

Every message says what happened and, where there is one, what to do about it. The CLI maps
each branch to its own exit code, so scripts can tell "your input is wrong" from "we broke"::

    PhotosorterError                 exit 1  (anything unexpected that we still caught)
    ├── UsageError                   exit 2  bad arguments or settings
    │   └── CategoryNameError                a category name that is not a safe folder name
    ├── InputError                   exit 3  a file or folder the user gave us is unusable
    │   ├── BadImageError                    one photo that cannot be used (subclasses below)
    │   │   ├── EmptyFileError, NotAnImageError, UnsupportedFormatError,
    │   │   ├── TruncatedImageError, CorruptImageError, ImageTooLargeError (DecodeTooLargeError),
    │   │   └── NotARegularFileError, UnreadableFileError, FileTooLargeError
    │   ├── NotEnoughExamplesError           training data that cannot make a model
    │   └── StateFileError                   photosorter's own ledger/cache file damaged or unwritable
    ├── ModelError                   exit 4  model files and backbone weights
    │   ├── ModelFileError                   not a photosorter model, damaged or tampered
    │   └── WeightsUnavailableError          pretrained weights missing and not downloadable
    └── CancelledError               exit 130  the user asked us to stop
"""

from __future__ import annotations

from pathlib import Path


class PhotosorterError(Exception):
    """Base of every error photosorter raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        super().__init__(message)

    def __str__(self) -> str:
        if self.path is not None:
            return f"{self.path}: {self.message}"
        return self.message


class UsageError(PhotosorterError):
    exit_code = 2


class CategoryNameError(UsageError):
    pass


class InputError(PhotosorterError):
    exit_code = 3


class BadImageError(InputError):
    """One photo that cannot be used; `reason` is a short stable code for ledgers and JSON."""

    reason = "bad_image"


class EmptyFileError(BadImageError):
    reason = "empty_file"


class NotAnImageError(BadImageError):
    reason = "not_an_image"


class UnsupportedFormatError(BadImageError):
    reason = "unsupported_format"


class TruncatedImageError(BadImageError):
    reason = "truncated"


class CorruptImageError(BadImageError):
    reason = "corrupt"


class ImageTooLargeError(BadImageError):
    reason = "too_many_pixels"


class DecodeTooLargeError(ImageTooLargeError):
    """Under the pixel limit, but decoding it would need more memory than one photo may use."""

    reason = "needs_too_much_memory"


class FileTooLargeError(BadImageError):
    reason = "file_too_large"


class NotARegularFileError(BadImageError):
    reason = "not_a_regular_file"


class UnreadableFileError(BadImageError):
    reason = "unreadable"


class NotEnoughExamplesError(InputError):
    pass


class StateFileError(InputError):
    """One of photosorter's own files (the ledger, the feature cache) is damaged, read-only, locked
    or on a full disk; the message names the file and what to do."""

    kind = "damaged"  # or "full", "read_only", "locked"


class ModelError(PhotosorterError):
    exit_code = 4


class ModelFileError(ModelError):
    pass


class WeightsUnavailableError(ModelError):
    pass


class CancelledError(PhotosorterError):
    exit_code = 130

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)
