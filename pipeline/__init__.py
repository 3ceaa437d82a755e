"""clockweb's processing stages: framework-free functions over frozen dataclasses and numpy arrays.

Nothing in this package imports Django. Each third-party library has one adapter module here
and is imported nowhere else.
"""
