"""Issue 20: a missing extra names the ``pip install`` that brings it.

The extras are absent here by making their import fail (``sys.modules[name] = None`` is how
Python itself marks a module as not importable); the module is then imported afresh.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support_processes import REPO_ROOT


@pytest.mark.parametrize(
    ("module", "missing", "install"),
    [
        ("flask_etag.sqlalchemy", "sqlalchemy", "pip install 'flask-etag[sqlalchemy]'"),
        ("flask_etag.openapi", "apispec", "pip install 'flask-etag[openapi]'"),
    ],
)
def test_a_missing_extra_names_its_install(
    monkeypatch: pytest.MonkeyPatch, module: str, missing: str, install: str
) -> None:
    for name in list(sys.modules):
        if name == module or name.startswith(f"{module}."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, missing, None)
    with pytest.raises(ImportError, match=rf"^{re.escape(module)} needs .*{re.escape(install)}"):
        importlib.import_module(module)


#: What each extra is for, as the docs say, shown by a few lines run in a venv holding only
#: flask_etag and that extra.
EXTRA_SMOKE = {
    "sqlalchemy": """
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_etag import ETag, require_if_match
from flask_etag.sqlalchemy import ModelVersionGenerator

db = SQLAlchemy()
class Note(db.Model):
    id = sa.Column(sa.Integer, primary_key=True)
    version = sa.Column(sa.Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}
app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
db.init_app(app)
ETag(app)
@app.route("/notes/<int:note_id>", methods=["GET", "PUT"])
@require_if_match(ModelVersionGenerator(Note, db.session))
def note(note_id):
    return {"id": note_id}
with app.app_context():
    db.create_all(); db.session.add(Note(id=1)); db.session.commit()
client = app.test_client()
assert client.get("/notes/1").headers["ETag"] == '"1"'
assert client.put("/notes/1", headers={"If-Match": '"0"'}).status_code == 412
""",
    "openapi": """
from apispec import APISpec
from flask import Flask
from flask_etag import ETag, etag
from flask_etag.openapi import ETagPlugin
app = Flask(__name__)
ETag(app)
@app.get("/reports/<int:report_id>")
@etag
def report(report_id):
    '''A report.
    ---
    get:
      responses:
        200:
          description: The report
    '''
    return {"id": report_id}
spec = APISpec("Reports", "1.0", "3.1.0", plugins=[ETagPlugin(app=app)])
spec.path("/reports/{report_id}", operations={"get": {"responses": {"200": {"description": "x"}}}})
assert "304" in spec.to_dict()["paths"]["/reports/{report_id}"]["get"]["responses"]
""",
    "compress": """
from flask import Flask
from flask_compress import Compress
from flask_etag import ETag, etag
app = Flask(__name__)
app.config["COMPRESS_MIN_SIZE"] = 0
ETag(app)
Compress(app)
@app.get("/reports/1")
@etag
def report():
    return {"total": 42, "padding": "x" * 600}
answer = app.test_client().get("/reports/1", headers={"Accept-Encoding": "gzip"})
assert answer.headers["Content-Encoding"] == "gzip"
assert answer.headers["ETag"].endswith(':gzip"')
""",
    "examples": """
import subprocess, sys
routes = subprocess.run(
    [sys.executable, "-m", "flask", "--app", "examples/products.py", "etag", "routes"],
    capture_output=True, text=True, check=True,
).stdout
assert "products.get_product" in routes and "collection" in routes
""",
    "clients": """
import cachecontrol, hishel, httpx, playwright.sync_api, requests
session = cachecontrol.CacheControl(requests.Session())
assert session.get_adapter("http://x").__class__.__name__ == "CacheControlAdapter"
""",
    "benchmark": """
import flask_smorest, gunicorn, subprocess, sys
assert subprocess.run([sys.executable, "benchmarks/bench.py", "--help"]).returncode == 0
""",
}


@pytest.mark.slow
@pytest.mark.parametrize("extra", sorted(EXTRA_SMOKE))
def test_each_extra_installs_alone_and_does_its_job(tmp_path: Path, extra: str) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"{REPO_ROOT}[{extra}]"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    ran = subprocess.run(
        [str(python), "-c", EXTRA_SMOKE[extra]], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
