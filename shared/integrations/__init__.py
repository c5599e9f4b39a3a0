"""Inbound integrations: files from extension systems (SIMLUHTAN, e-RDKK) and OpenSID."""
