"""The app the end-to-end benchmark serves with gunicorn: one ~100 KB JSON resource.

``gunicorn --chdir benchmarks e2e_app:app``; ``GET /resource`` answers 200 with a blake3 body
tag, and 304 to a request whose ``If-None-Match`` carries that tag; ``/versioned-resource``
serves the same JSON tagged by a version, so its 304 runs no view.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify

from flask_etag import ETag, VersionGenerator, etag

#: About 100 KB of JSON once serialised.
RESOURCE = [
    {"id": index, "name": f"product {index}", "price": index * 0.25, "stock": index % 97}
    for index in range(1750)
]

#: What a real app would read from its database row.
RESOURCE_VERSION = 1

app = Flask(__name__)
ETag(app)


@app.get("/resource")
@etag
def resource() -> Response:
    """Tagged by a blake3 hash of the body: a 304 still renders it, but sends none of it."""
    return jsonify(RESOURCE)


@app.get("/versioned-resource")
@etag(VersionGenerator(lambda: RESOURCE_VERSION))
def versioned_resource() -> Response:
    """Tagged by a version known before the view: a 304 neither renders nor sends it."""
    return jsonify(RESOURCE)
