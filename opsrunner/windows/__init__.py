"""Maintenance windows: when unattended runs may change the estate.

:mod:`opsrunner.windows.model` holds the validated windows.
"""
