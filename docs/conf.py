"""Sphinx configuration: the guides are Markdown (MyST), the API reference is autodoc."""

from __future__ import annotations

import flask_etag

project = "flask_etag"
copyright = "2026, flask_etag contributors"
release = getattr(flask_etag, "__version__", "0.1.0")
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "pallets_sphinx_themes",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

#: Headings get anchors, so guides link to each other's sections.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}

html_theme = "flask"
html_title = f"flask_etag {release}"
html_static_path: list[str] = []
