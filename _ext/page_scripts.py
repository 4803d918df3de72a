"""Sphinx extension: every page of the book loads each script once, and the vendored libraries only where needed.

Two quirks of the toolchain (jupyter-book 1.0, Sphinx 7.4) otherwise break or bloat every page:

- jupyter-book adds every `.js` file under `_static` to the head of every page. For the vendored libraries that is
  wrong: MathJax would load a second time, without its configuration (Sphinx already loads it from `mathjax_path`),
  and vega would load on pages without charts (altair's own loader fetches it where a chart needs it).
- Sphinx re-adds inline scripts registered after the builder started (it keys them by `''` instead of `None`), so
  sphinx-thebe's `const THEBE_JS_URL = ...` appears twice: a SyntaxError in the console of every page.
"""
_VENDORED = ('mathjax/', 'vega/')


def _drop_vendored(app, config):
    "Keep the vendored libraries out of `html_js_files` (runs before Sphinx converts its entries to tuples)."
    name = lambda entry: entry if isinstance(entry, str) else entry[0]
    config.html_js_files = [e for e in config.html_js_files if not name(e).startswith(_VENDORED)]


def _drop_duplicates(app, pagename, templatename, context, doctree):
    "Render each script once, counting an inline script registered with filename `None` and `''` as the same."
    seen, scripts = set(), []
    for js in context.get('script_files', []):
        key = (str(getattr(js, 'filename', js) or ''), repr(sorted(getattr(js, 'attributes', {}).items())))
        if key not in seen:
            seen.add(key)
            scripts.append(js)
    context['script_files'] = scripts


def setup(app):
    app.connect('config-inited', _drop_vendored)
    app.connect('html-page-context', _drop_duplicates, priority=900)  # after the handlers that add scripts
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
