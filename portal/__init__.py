"""Neraca portal: the web portal, JSON API, jobs and CLI of the Balance Management System."""

__version__ = "0.1.0"
