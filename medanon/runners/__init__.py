"""Drivers that run the same per-file pipeline in different ways (processes, later watch, Dask)."""
