"""Sphinx extension: make the book's altair charts load vega from the book's own _static/vega, not from a CDN.

Altair's HTML output fetches vega, vega-lite and vega-embed from cdn.jsdelivr.net; the book must work without
internet, so after the build every such address is rewritten to the copies in _static/vega (relative to the page).
"""
import os, re
from pathlib import Path

_CDN = re.compile(r'https://cdn\.jsdelivr\.net/npm/(vega-lite|vega-embed|vega-lib|vega)(@[0-9.]+)?')
_FILES = {'vega': 'vega.min.js', 'vega-lib': 'vega.min.js', 'vega-lite': 'vega-lite.min.js', 'vega-embed': 'vega-embed.min.js'}


def _rewrite(app, exception):
    if exception is not None or app.builder.format != 'html':
        return
    out = Path(app.outdir)
    for page in out.rglob('*.html'):
        html = page.read_text(encoding='utf-8')
        if 'cdn.jsdelivr.net/npm/vega' not in html:
            continue
        static = Path(os.path.relpath(out / '_static' / 'vega', page.parent)).as_posix()
        page.write_text(_CDN.sub(lambda m: f"{static}/{_FILES[m.group(1)]}", html), encoding='utf-8')


def setup(app):
    app.connect('build-finished', _rewrite)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
