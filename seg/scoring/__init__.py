"""How good a model is: confusion matrices, metrics, bootstrap intervals, breed groups, checkpoint scoring.

Imports seg.model and seg.data.
"""
