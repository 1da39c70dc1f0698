"""What every tab shares: the ZeroGPU wrapper, and how a client's value is quoted back in a message
(titles and colours are the Variant record's)."""

from __future__ import annotations

import errno
import functools
import reprlib

import gradio as gr

_quote = reprlib.Repr()  # keyword arguments need Python 3.12
_quote.maxstring, _quote.maxother, _quote.maxlist, _quote.maxdict, _quote.maxlevel = 40, 40, 4, 4, 2


def brief(value) -> str:
    """A client's value as a message quotes it: short whatever was sent (a 100 kB string, a huge list)."""
    return _quote.repr(value)

try:  # ZeroGPU on Hugging Face Spaces; elsewhere the plain function runs
    import spaces

    gpu = spaces.GPU
except ImportError:
    def gpu(fn):
        return fn


DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
DISK_FULL = "The server has no disk space left for results just now. Please try again in a few minutes."


def disk_full_is_a_message(handler):
    """A handler whose files cannot be written (disk full, quota, read-only) answers with a message,
    not a crash: the next request, once space is back, runs as usual."""
    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except OSError as err:
            if err.errno in DISK_ERRORS:
                raise gr.Error(DISK_FULL) from None
            raise
    return wrapped
