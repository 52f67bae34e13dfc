"""The hot loops (SQL assembly, rows -> objects), compiled by Cython or run as Python.

Import them through ``oxyde._impl``, never directly: it decides which implementation is
active (``OXYDE_IMPL``) and keeps compiled and pure modules from being mixed.

The bottom layer: these modules take plain data (IR tuples, dialect specs, row plans)
and import no other oxyde package.
"""
