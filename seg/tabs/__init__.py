"""The app's tabs: each module holds one tab's handlers (plain functions, testable without a
server) and its `render` function, which lays the tab out inside `app.py`'s Blocks."""
