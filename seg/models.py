"""The net builder (`create_model`), at its old import path.

The code lives in seg/model/factory.py; this module keeps the name people type."""

from seg.model.factory import create_model, init_weights  # noqa: F401
