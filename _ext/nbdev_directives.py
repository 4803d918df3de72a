"""Sphinx extension: hide nbdev's cell directives (`#| export`, `#| slow`, ...) in the book's code cells.

They tell nbdev what to export and test; a reader of the book has no use for them.
"""
from docutils import nodes


def _strip(app, doctree):
    for block in doctree.findall(nodes.literal_block):
        text = block.astext()
        kept = [line for line in text.splitlines() if not line.lstrip().startswith('#|')]
        if len(kept) != len(text.splitlines()):
            block.children = [nodes.Text('\n'.join(kept).strip('\n'))]
            block.rawsource = block.astext()


def setup(app):
    app.connect('doctree-read', _strip)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
