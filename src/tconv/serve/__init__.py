"""``tconv serve``: the explainer in the browser — a local web server, its JSON API and the page.

* :mod:`tconv.serve.api` — ``GET /api/explain?input=…&kernel=…``: the JSON of ``tconv explain --json``;
* :mod:`tconv.serve.server` — the HTTP server: the page, its assets, the API; ``Host`` checked, bodies discarded;
* :mod:`tconv.serve.pool` — a bounded pool of worker threads under the standard library's HTTP server;
* :mod:`tconv.serve.hosts` — which ``Host`` headers are answered (a guard against DNS rebinding).
"""
