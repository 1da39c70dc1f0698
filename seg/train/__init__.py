"""How a model is trained: recipes, the epoch loop, distributed data parallel, and the Run behind train.py.

Imports seg.model, seg.data and seg.scoring.
"""
