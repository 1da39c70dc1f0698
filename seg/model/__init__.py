"""The SegNet itself: its configuration and variants, conv layers, the exact cost model, the CPU fast path,
the checkpoint format.

Imports only seg.files and seg.machine.
"""
