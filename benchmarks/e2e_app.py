"""The app the end-to-end benchmark serves with gunicorn: one ~100 KB JSON resource.

``gunicorn --chdir benchmarks e2e_app:app``; ``GET /resource`` answers 200 with a blake3 body
tag, and 304 to a request whose ``If-None-Match`` carries that tag.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify

from flask_etag import ETag, etag

#: About 100 KB of JSON once serialised.
RESOURCE = [
    {"id": index, "name": f"product {index}", "price": index * 0.25, "stock": index % 97}
    for index in range(1750)
]

app = Flask(__name__)
ETag(app)


@app.get("/resource")
@etag
def resource() -> Response:
    return jsonify(RESOURCE)
