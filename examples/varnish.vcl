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

import xkey;

backend default {
    .host = "127.0.0.1";
    .port = "5000";
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
    # Everything else (writes, Authorization, cookies) follows Varnish's built-in rules:
    # GET and HEAD may be served from the cache, the rest goes to the app.
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
