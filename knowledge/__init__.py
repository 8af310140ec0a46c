"""Curated knowledge base: source data, importers and the generated Markdown documents.

Run ``python -m knowledge --help`` for the importer commands.
"""
