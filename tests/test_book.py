"The book hides what nbdev hides: test cells and export directives are tagged `remove-cell`."
import json
from pathlib import Path

NBS = Path(__file__).resolve().parents[1] / 'nbs'


def test_hidden_cells_are_removed_from_the_book():
    untagged = []
    for nb in sorted(NBS.glob('*.ipynb')):
        for i, cell in enumerate(json.loads(nb.read_text())['cells']):
            src = ''.join(cell['source'])
            if cell['cell_type'] == 'code' and src.startswith(('#| hide', '#| default_exp')):
                if 'remove-cell' not in cell.get('metadata', {}).get('tags', []):
                    untagged.append(f"{nb.name} cell {i}")
    assert not untagged, f"add the 'remove-cell' tag to: {', '.join(untagged)}"


def test_every_chapter_is_in_the_table_of_contents():
    toc = (NBS.parent / '_toc.yml').read_text()
    missing = [nb.stem for nb in NBS.glob('*.ipynb') if f"nbs/{nb.stem}" not in toc]
    assert not missing, f"chapters missing from _toc.yml: {missing}"
