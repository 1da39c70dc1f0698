"""Measured results: each module measures one thing, writes one JSON under results/, and renders it as markdown.

Imports every package above except seg.tabs.
"""
