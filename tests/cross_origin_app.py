"""A note API that browser code on another origin uses, for the CORS browser test.

``GET /page?api=<origin>`` serves a page whose script, from this page's origin, reads
``<api>/notes/1``, takes its ``ETag``, writes with it (``If-Match``, 200), writes again with
the old tag (412) and reads the current tag from that 412.  Serve the page from
``http://127.0.0.1:<port>`` and the API from ``http://localhost:<port>``: two origins.
Flask-CORS answers the preflights and adds ``Access-Control-Allow-Origin``; flask_etag
exposes ``ETag`` to the script (``Access-Control-Expose-Headers``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_cors import CORS

from flask_etag import ETag, VersionGenerator, require_if_match, set_response_version

PAGE = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>flask_etag across origins</title></head>
<body>
<p id="result">loading</p>
<script>
const api = new URLSearchParams(location.search).get("api");
const patch = (tag, text) => fetch(api + "/notes/1", {
  method: "PATCH",
  headers: {"If-Match": tag, "Content-Type": "application/json"},
  body: JSON.stringify({text: text}),
});
async function run() {
  const read = await fetch(api + "/notes/1");
  const tag = read.headers.get("ETag");
  const written = await patch(tag, "second");
  const stale = await patch(tag, "lost");
  return [read.status, tag, written.status, written.headers.get("ETag"),
          stale.status, stale.headers.get("ETag")].join(" ");
}
run()
  .then((text) => { document.getElementById("result").textContent = text; })
  .catch((error) => { document.getElementById("result").textContent = "error " + error; });
</script>
</body>
</html>
"""


def create_app() -> Flask:
    app = Flask(__name__)
    ETag(app)
    CORS(app)
    note = {"text": "first", "version": 1}

    @app.get("/page")
    def page() -> Any:
        return PAGE

    @app.route("/notes/<int:note_id>", methods=["GET", "PATCH"])
    @require_if_match(VersionGenerator(lambda note_id: note["version"]))
    def notes(note_id: int) -> Any:
        if request.method == "PATCH":
            note.update(text=request.get_json()["text"], version=note["version"] + 1)
            set_response_version(note["version"])
        return {"text": note["text"]}

    return app
