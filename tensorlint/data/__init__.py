"""Data files shipped with tensorlint (the torch API signature table)."""
