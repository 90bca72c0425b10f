"""Figures (matplotlib, one house style) and self-contained offline HTML reports."""
