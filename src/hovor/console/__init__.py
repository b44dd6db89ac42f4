"""The console: the web application of operators and the DPO, server-rendered from the same app
(Jinja2 templates, htmx vendored under ``static/``, Czech and English catalogs under ``locale/``)."""
