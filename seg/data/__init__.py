"""Oxford-IIIT Pet on disk: photos and trimaps, breeds, the decoded cache, splits, augmentation, training sets.

Imports only seg.files and seg.machine.
"""
