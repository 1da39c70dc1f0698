"""What the app runs per request: photos in, models on the inference thread, masks and overlays out,
uploads, clips, the live race, timing, `seg.predict`.

Imports seg.model, seg.data and seg.scoring.
"""
