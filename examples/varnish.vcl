vcl 4.1;
# Varnish 7 in front of the example product API (examples/products.py on 127.0.0.1:5000).
#
#   varnishd -F -a 127.0.0.1:6081 -f "$PWD/examples/varnish.vcl" -n /tmp/varnish-example
#   FLASK_ETAG_PURGE_URLS='["http://127.0.0.1:6081"]' flask --app examples/products.py run
#
# With ETAG_PURGE_URLS set, the example answers reads with
# "Cache-Control: max-age=0, s-maxage=60, must-revalidate": Varnish keeps them for a minute,
# browsers revalidate every use.  Each response names what it depends on in Surrogate-Key
# ("products/101 products/*" for an item, "products" for a list); after each write commits,
# the app sends "PURGE /" with the written keys in Surrogate-Key, and the xkey vmod
# (Debian: varnish-modules) drops every stored response carrying one of them, before the
# client hears that its write succeeded.
#
# Several hosts: replace "backend default" with one backend per host, each with the probe;
# a round-robin director spreads requests over the healthy ones, and a shard director picks
# the hosts a retry goes to (tests/test_many_hosts.py and tests/test_host_failover.py run
# exactly this, for three hosts on loopback):
#
#   import directors;
#
#   backend host1 { .host = "10.0.0.1"; .port = "5000"; .probe = healthz; }
#   backend host2 { .host = "10.0.0.2"; .port = "5000"; .probe = healthz; }
#   backend host3 { .host = "10.0.0.3"; .port = "5000"; .probe = healthz; }
#
#   sub vcl_init {
#       new hosts = directors.round_robin();
#       hosts.add_backend(host1);
#       hosts.add_backend(host2);
#       hosts.add_backend(host3);
#       new retry_hosts = directors.shard();
#       retry_hosts.add_backend(host1);
#       retry_hosts.add_backend(host2);
#       retry_hosts.add_backend(host3);
#       retry_hosts.reconfigure();
#   }
#
#   sub vcl_recv {
#       set req.backend_hint = hosts.backend();
#   }
#
#   sub vcl_backend_fetch {
#       if (bereq.retries > 0) {
#           set bereq.backend = retry_hosts.backend(by = URL, alt = bereq.retries - 1);
#       }
#   }
#
# Why two directors: a host that dies stays in the rotation until the probe finds it sick
# (the probe window, 2 s below), and a retry that asked the round robin again would get
# whichever host is next in turn, the dead one included, once the requests in between
# have taken the other turns (seen: three attempts in a row on the dead host).  The shard
# director orders the hosts for each URL, and its alternatives are distinct hosts: the
# first retry goes to the URL's first host (alt = 0), the second to its second (alt = 1).
# So with one host down, one of the two retries reaches a live host, whichever host the
# first attempt went to; with two hosts or twenty.

import std;
import xkey;

# Every host is asked for /healthz once a second (the example answers 200 while its
# database does, 503 otherwise).  A host is healthy while at least 2 of its last 3 probes
# got 200 within 0.5 s: one slow probe on a busy host takes nothing out of the rotation, two
# failed in a row do.  So a host that dies is sick, and gets no more requests, within two
# probe intervals when its port refuses connections (a crashed or killed process): 2 s,
# plus the few ms Varnish's scheduling adds.  When nothing answers at all (a hung process,
# a lost machine) each of the two probes also waits its 0.5 s: 2.5 s.  A sick host is back
# after 2 good probes; when Varnish starts, a host gets requests once its first probe passed.
probe healthz {
    .url = "/healthz";
    .expected_response = 200;
    .interval = 1s;
    .timeout = 0.5s;
    .window = 3;
    .threshold = 2;
}

backend default {
    .host = "127.0.0.1";
    .port = "5000";
    .probe = healthz;
}

# Who may purge: the app hosts.  Anyone else gets 403.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.http.Surrogate-Key) {
            set req.http.purged = xkey.purge(req.http.Surrogate-Key);
            return (synth(200, "Purged " + req.http.purged));
        }
        return (purge);  # no keys: the URL itself, as nginx's cache-purge does
    }
    # A write retried on another host (vcl_backend_error) sends its body again, so keep the
    # body, up to 1 MB.  A larger one, or one of unknown length (chunked), is streamed to the
    # app once; Varnish then refuses to retry that write once the body has left ("Retry not
    # possible, req.body not cached"), which is safe.  (Varnish 7.1 drops the connection
    # without an answer when std.cache_req_body meets a longer body: hence the length check.)
    if (req.method ~ "^(PUT|PATCH|DELETE)$" && req.http.Content-Length
            && std.integer(req.http.Content-Length, fallback = -1) <= 1048576) {
        std.cache_req_body(1MB);
    }
    # Everything else (writes, Authorization, cookies) follows Varnish's built-in rules:
    # GET and HEAD may be served from the cache, the rest goes to the app.
}

# The fetch failed without a response from the host: connection refused or reset, or a
# timeout (.connect_timeout, .first_byte_timeout).  The host may have applied the request
# before it failed, so only a request that may safely be sent twice is sent again
# (RFC 9110 §9.2.2: requests with idempotent methods may be retried automatically; other
# requests only when their semantics are known to be idempotent):
#
# * GET, HEAD, OPTIONS: safe (§9.2.1).
# * PUT, DELETE: idempotent.  The example requires If-Match (RFC 9110 §13.1.1) on both (or
#   If-None-Match: * to create at an id), so a write retried after the first attempt
#   applied meets a changed state and gets 412: never a second write, nor one over another
#   client's.
# * PATCH only with If-Match naming a tag: not idempotent by method, but the precondition
#   lets it apply once at most (a retry after it applied gets 412).  "If-Match: *" matches
#   any state, so such a PATCH is not retried, nor one without If-Match.
# * POST never: a retry after the first attempt applied would create a second resource.
#
# At most 2 retries, so at most three attempts; with several hosts, the two retries go to
# two different hosts (the recipe at the top).  With one host, a retry goes to the same
# host, which still recovers a connection the host had closed.  A response the host did
# send, a 503 included, is passed on as it is; so is one it stopped sending halfway
# (Varnish has passed its start on already).
sub vcl_backend_error {
    if (bereq.retries < 2
            && (bereq.method ~ "^(GET|HEAD|OPTIONS|PUT|DELETE)$"
                || (bereq.method == "PATCH" && bereq.http.If-Match
                    && bereq.http.If-Match !~ "^\s*\*\s*$"))) {
        return (retry);
    }
}

sub vcl_backend_response {
    # xkey indexes a stored object by its "xkey" field; the app speaks Surrogate-Key.
    if (beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
    }
    # Keep only what the app said may be kept: a response without Cache-Control (a 404, a
    # problem document) is not stored, so a product created later is never hidden behind it.
    if (!beresp.http.Cache-Control) {
        set beresp.ttl = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    # No stale-while-revalidate: past s-maxage, a read waits for the app's 304 or 200.
    set beresp.grace = 0s;
    # Keep expired objects an hour, so Varnish revalidates them with If-None-Match and the
    # app answers 304 from the version alone (RFC 9111 §4.3.1).
    set beresp.keep = 1h;
}

sub vcl_deliver {
    # Keys are for caches; clients need not see them.
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
