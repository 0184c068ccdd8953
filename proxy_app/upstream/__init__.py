"""HTTP to the upstream providers: the one seam every upstream call goes through.

* ``client``: the seam: a pooled client per base URL, ``send`` and the body readers (start here);
* ``transports``: which transport the ``PROXY_UPSTREAM_TRANSPORT`` setting picks;
* ``http1``: the project's own HTTP/1.1 transport, the default (asyncio protocols, httptools);
* ``httpx_transport`` / ``aiohttp_transport``: the library transports, each made to behave as it does;
* ``resumable``: the library transports' response bodies, readable on after a reader stopped;
* ``defaults``: the headers, keep-alive time, TLS context and proxy credentials they all share.
"""
