"""Many hosts behind one shared cache: tags agree, no write is lost, no read is stale.

Three gunicorn hosts of the example (each with its own ``PYTHONHASHSEED`` and working
folder) share one PostgreSQL schema, behind real Varnish running ``examples/varnish.vcl``
(xkey purges), or behind nginx with Debian's cache-purge module (URL purges).  The hosts
purge the cache after every committed write (``FLASK_ETAG_PURGE_URLS``), before the client
hears back, so:

* every host gives a resource the same tag (RFC 9110 §8.8.3: a tag names a representation,
  not a process);
* increments chained with ``If-Match`` through the cache lose nothing (§13.1.1);
* after each acknowledged write, no read through the cache is stale (RFC 9111 §4.4);
* repeated reads of an unchanged item are cache hits, so the cache still does its job.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from support_caches import nginx_server, nginx_temp_paths, nginx_user, varnish_server
from support_processes import (
    LOOPBACK,
    REPO_ROOT,
    Server,
    free_port,
    gunicorn_process,
    gunicorn_server,
    postgres_schema,
    skip_or_fail,
)

pytestmark = pytest.mark.slow

HOSTS = 3
APP = "examples.products:create_app()"
ITEM = "/api/products/101"
COLLECTION = "/api/products"
EVERYTHING = f"{COLLECTION}?per_page=1000"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
VCL = REPO_ROOT / "examples" / "varnish.vcl"
#: The health probe the shipped VCL declares, which every host's backend refers to.
PROBE = "healthz"
PURGE_MODULE = Path("/usr/lib/nginx/modules/ngx_http_cache_purge_module.so")
TIMEOUT = 10.0
#: The example's hosts repeat each purge this long after the first (the default).
REPEAT_AFTER = 2.0


@dataclass(frozen=True)
class Stack:
    """A shared cache in front of the hosts."""

    cache: str
    hosts: list[str]
    #: The response field that says whether the cache answered (``HIT``) or the app did.
    hit_field: str
    #: A list of every product that the cache is purged of on every write.
    list_path: str


@contextlib.contextmanager
def example_hosts(
    folder: Path, database_url: str, purge_urls: list[Any], config: dict[str, str] | None = None
) -> Iterator[list[str]]:
    """The example on ``HOSTS`` gunicorn servers, each with its own hash seed and folder.

    :param config: more ``FLASK_*`` variables for every host.
    """
    with example_servers(folder, database_url, purge_urls, config) as servers:
        yield [server.url for server in servers]


@contextlib.contextmanager
def example_servers(
    folder: Path, database_url: str, purge_urls: list[Any], config: dict[str, str] | None = None
) -> Iterator[list[Server]]:
    """:func:`example_hosts`, yielding each host's process with its URL, for a test that
    kills one."""
    with contextlib.ExitStack() as stack:
        servers = []
        for number in range(HOSTS):
            working_dir = folder / f"host{number}"
            working_dir.mkdir()
            environment = {
                "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
                "FLASK_ETAG_PURGE_URLS": json.dumps(purge_urls),
                "PYTHONHASHSEED": str(number + 1),
                **(config or {}),
            }
            server = gunicorn_process(
                APP, threads=4, env=environment, ready_path=ITEM, working_dir=working_dir
            )
            servers.append(stack.enter_context(server))
        yield servers


def several_hosts_recipe(vcl: str) -> str:
    """The VCL that the shipped file's comment shows for several hosts, uncommented: from
    ``import directors;`` to the end of that indented block."""
    lines = vcl.splitlines()
    assert "#   import directors;" in lines, "examples/varnish.vcl lost its several-hosts recipe"
    recipe = []
    for line in lines[lines.index("#   import directors;") :]:
        if line != "#" and not line.startswith("#   "):
            break
        recipe.append(line[4:])
    return "\n".join(recipe).strip() + "\n"


def varnish_config(hosts: list[str]) -> str:
    """``examples/varnish.vcl`` with its one backend replaced by the several-hosts recipe its
    comment shows, for our hosts: each of the recipe's lines about its first host (``host1``)
    once per host, with the host's address; its lines about its other hosts left out."""
    shipped = VCL.read_text(encoding="utf-8")
    assert f"probe {PROBE} {{" in shipped, f"examples/varnish.vcl no longer has 'probe {PROBE}'"
    lines = []
    for line in several_hosts_recipe(shipped).splitlines():
        if re.search(r"\bhost1\b", line):
            for number, url in enumerate(hosts, start=1):
                port = url.rsplit(":", 1)[1]
                each = re.sub(r"\bhost1\b", f"host{number}", line)
                each = re.sub(r'\.host = "[^"]*"', f'.host = "{LOOPBACK}"', each)
                lines.append(re.sub(r'\.port = "[^"]*"', f'.port = "{port}"', each))
        elif not re.search(r"\bhost\d+\b", line):
            lines.append(line)
    recipe = "\n".join(lines) + "\n"
    assert recipe.count(f".probe = {PROBE};") == len(hosts), "the recipe's hosts lost the probe"
    replaced, count = re.subn(r"backend default \{.*?\n\}\n", recipe, shipped, flags=re.S)
    assert count == 1, "examples/varnish.vcl no longer has one 'backend default' block"
    return replaced


NGINX_CONF = """\
load_module {module};
daemon off;
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    {temp_paths}
    access_log off;
    proxy_cache_path {prefix}/cache keys_zone=api:1m;
    upstream hosts {{
{servers}
    }}
    server {{
        listen {listen};
        # The app hosts purge by URL after each write: PURGE /purge/api/products/7.  (The
        # module's other form, proxy_cache_purge PURGE inside "location /", crashes the
        # worker of Debian 12's nginx 1.22.)
        location ~ ^/purge(/.*) {{
            allow 127.0.0.1;
            deny all;
            proxy_cache_purge api $1$is_args$args;
        }}
        location / {{
            proxy_pass http://hosts;
            proxy_http_version 1.1;
            proxy_cache api;
            proxy_cache_key $uri$is_args$args;
            proxy_cache_revalidate on;
            add_header X-Cache-Status $upstream_cache_status always;
        }}
    }}
}}
"""


#: How the hosts purge nginx: by URL, the written one and the list's first page.  Debian's
#: cache-purge module (2.3) purges exact URLs only: other pages wait for their s-maxage.
NGINX_PURGE = {"by": "url", "paths": {"products": [COLLECTION]}}


def nginx_config(prefix: Path, port: int, hosts: list[str]) -> str:
    servers = "\n".join(f"        server {url.split('://', 1)[1]};" for url in hosts)
    return NGINX_CONF.format(
        module=PURGE_MODULE,
        user=nginx_user(),
        temp_paths=nginx_temp_paths(prefix),
        prefix=prefix,
        servers=servers,
        listen=f"{LOOPBACK}:{port}",
    )


@pytest.fixture(scope="module")
def varnish(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("varnish-hosts")
    port = free_port()
    cache_url = f"http://{LOOPBACK}:{port}"
    with (
        postgres_schema("flask_etag_hosts") as database_url,
        example_hosts(folder, database_url, [cache_url]) as hosts,
        varnish_server(folder / "varnish", varnish_config(hosts), port, ITEM) as cache,
    ):
        yield Stack(cache, hosts, "X-Cache", EVERYTHING)  # xkey: any page, any query


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not PURGE_MODULE.exists():
        skip_or_fail("nginx's cache-purge module is missing: apt-get install "
                     "libnginx-mod-http-cache-purge")  # fmt: skip
    folder = tmp_path_factory.mktemp("nginx-hosts")
    prefix = folder / "nginx"
    prefix.mkdir()
    port = free_port()
    cache_url = f"http://{LOOPBACK}:{port}"
    with (
        postgres_schema("flask_etag_hosts") as database_url,
        example_hosts(folder, database_url, [NGINX_PURGE | {"url": f"{cache_url}/purge"}]) as hosts,
        nginx_server(prefix, lambda chosen: nginx_config(prefix, chosen, hosts), port) as cache,
    ):
        yield Stack(cache, hosts, "X-Cache-Status", COLLECTION)  # the URL the paths name


@pytest.fixture(params=["varnish", "nginx"])
def stack(request: pytest.FixtureRequest) -> Stack:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Read:
    stock: int
    etag: str
    cached: bool


def read(session: requests.Session, stack: Stack, path: str) -> Read:
    response = session.get(stack.cache + path, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return Read(
        response.json()["stock"],
        response.headers["ETag"],
        response.headers.get(stack.hit_field) == "HIT",
    )


def new_product(session: requests.Session, base_url: str) -> tuple[str, str]:
    """Create a product at ``base_url``; its path and tag."""
    created = session.post(
        base_url + COLLECTION, json={"name": "gadget", "price": 1, "stock": 0}, timeout=TIMEOUT
    )
    assert created.status_code == 201, created.text
    return f"{COLLECTION}/{created.json()['id']}", created.headers["ETag"]


def set_stock(session: requests.Session, url: str, tag: str, stock: int) -> requests.Response:
    headers = {"If-Match": tag, **MERGE_PATCH}
    return session.patch(url, json={"stock": stock}, headers=headers, timeout=TIMEOUT)


def listed_stock(session: requests.Session, stack: Stack, path: str) -> int | None:
    """The product's stock as the cached list of every product shows it."""
    response = session.get(stack.cache + stack.list_path, timeout=TIMEOUT)
    assert response.status_code == 200
    identity = int(path.rsplit("/", 1)[1])
    return next((item["stock"] for item in response.json() if item["id"] == identity), None)


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("path", [ITEM, COLLECTION, f"{COLLECTION}?page=1&per_page=1"])
def test_every_host_gives_the_same_tag_rfc9110_8_8_3(varnish: Stack, path: str) -> None:
    answers = [requests.get(host + path, timeout=TIMEOUT) for host in varnish.hosts]
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.headers["ETag"] for answer in answers}) == 1
    assert len({answer.headers["Surrogate-Key"] for answer in answers}) == 1


def test_repeated_reads_of_an_unchanged_item_are_cache_hits(stack: Stack) -> None:
    session = requests.Session()
    path, tag = new_product(session, stack.cache)
    reads = [read(session, stack, path) for _ in range(50)]
    assert {each.etag for each in reads} == {tag}
    assert sum(each.cached for each in reads) >= 45  # over 90%


def test_no_read_through_the_cache_is_stale_after_a_write_rfc9111_4_4(stack: Stack) -> None:
    """Each write goes straight to a host (the cache never sees it): only the purge can tell
    the cache, and the next read through it shows the write, item and list alike."""
    session = requests.Session()
    path, tag = new_product(session, stack.hosts[0])
    assert listed_stock(session, stack, path) == 0  # the create purged the cached list
    hits = stale = 0
    for stock in range(1, 21):
        read(session, stack, path)
        listed_stock(session, stack, path)
        hits += read(session, stack, path).cached  # cached now, so the purge has work to do
        written = set_stock(session, stack.hosts[stock % HOSTS] + path, tag, stock)
        assert written.status_code == 200, written.text
        tag = written.headers["ETag"]
        after = read(session, stack, path)
        stale += (after.stock, after.etag) != (stock, tag)
        stale += listed_stock(session, stack, path) != stock
    assert stale == 0
    assert hits >= 18


def test_chained_increments_through_the_cache_lose_nothing_rfc9110_13_1_1(stack: Stack) -> None:
    """Four clients increment one product through the cache, each write chained on the tag of
    a read through it: every acknowledged increment is kept, and reads after one are fresh.

    One race no purge can close at once: another client's read fetched before the commit and
    stored after the purge.  The hosts purge each write again ``ETAG_PURGE_REPEAT_AFTER`` (2 s)
    later, so a read that was stale must be fresh after that."""
    path, _ = new_product(requests.Session(), stack.cache)
    clients, increments = 4, 8
    acknowledged: list[int] = []
    stale: list[tuple[int, int]] = []
    deadline = time.monotonic() + 120

    def client() -> None:
        session = requests.Session()
        done = 0
        while done < increments and time.monotonic() < deadline:
            current = read(session, stack, path)
            written = set_stock(session, stack.cache + path, current.etag, current.stock + 1)
            if written.status_code == 412:
                continue  # another client wrote first: read again, through the cache
            assert written.status_code == 200, written.text
            done += 1
            acknowledged.append(current.stock + 1)
            if read(session, stack, path).stock < current.stock + 1:
                time.sleep(REPEAT_AFTER + 0.5)
                seen = read(session, stack, path).stock
                if seen < current.stock + 1:
                    stale.append((current.stock + 1, seen))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(acknowledged) == clients * increments
    assert sorted(acknowledged) == list(range(1, clients * increments + 1))
    assert requests.get(stack.hosts[0] + path, timeout=TIMEOUT).json()["stock"] == len(acknowledged)
    assert stale == []


def test_concurrent_creators_on_three_hosts_all_get_201_rfc9110_15_3_2(varnish: Stack) -> None:
    """8 clients x 15 POSTs, spread over the hosts by the cache: no 409, no 500, and each
    201's tag is the one the next read gives."""
    answers: list[tuple[int, str, str]] = []

    def creator() -> None:
        session = requests.Session()
        for _ in range(15):
            created = session.post(
                varnish.cache + COLLECTION,
                json={"name": "racer", "price": 1, "stock": 1},
                timeout=TIMEOUT,
            )
            answers.append((created.status_code, created.headers.get("Location", ""),
                            created.headers.get("ETag", "")))  # fmt: skip

    threads = [threading.Thread(target=creator) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _, _ in answers] == [201] * 120
    assert len({location for _, location, _ in answers}) == 120
    session = requests.Session()
    for _, location, tag in answers:
        assert session.get(varnish.cache + location, timeout=TIMEOUT).headers["ETag"] == tag


def test_a_write_succeeds_while_the_cache_is_down(tmp_path: Path) -> None:
    """Purging never fails the client's write: with nothing listening at the purge URL the
    write is acknowledged, and is there to read."""
    down = f"http://{LOOPBACK}:{free_port()}"
    with (
        postgres_schema("flask_etag_hosts") as database_url,
        gunicorn_server(
            APP,
            env={
                "FLASK_SQLALCHEMY_DATABASE_URI": database_url,
                "FLASK_ETAG_PURGE_URLS": f'["{down}"]',
            },
            ready_path=ITEM,
        ) as host,
    ):
        tag = requests.get(host + ITEM, timeout=TIMEOUT).headers["ETag"]
        written = set_stock(requests.Session(), host + ITEM, tag, 3)
        assert written.status_code == 200, written.text
        assert requests.get(host + ITEM, timeout=TIMEOUT).json()["stock"] == 3


def test_hosts_leave_no_gunicorn_control_socket_in_the_home_folder(tmp_path: Path) -> None:
    """gunicorn 27 puts a control socket in ``~/.gunicorn`` unless told not to."""
    control = Path.home() / ".gunicorn"
    existed = control.exists()
    with gunicorn_server("tests.origin_app:create_app()", working_dir=tmp_path):
        pass
    assert control.exists() == existed
