"""What every tab shares: the ZeroGPU wrapper, and how a client's value is quoted back in a message
(titles and colours are the Variant record's)."""

from __future__ import annotations

import reprlib

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
