"""``tconv serve``: the explainer in the browser — a local web server, its JSON API and the page.

* :mod:`tconv.serve.api` — ``GET /api/explain?input=…&kernel=…``: the JSON of ``tconv explain --json``;
* :mod:`tconv.serve.server` — the HTTP server (the standard library's, one thread per request).
"""
