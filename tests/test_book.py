"The book hides what nbdev hides (test and export cells tagged `remove-cell`); its chapters import petri before transformers."
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


def first_imports(source: str) -> list[str]:
    "The top-level packages a cell's import lines name, in order."
    import re
    return [m.group(1) for m in re.finditer(r'^(?:from|import)\s+([A-Za-z_]\w*)', source, re.M)]


def test_chapters_import_petri_before_transformers():
    "tqdm.auto, which transformers and tokenizers import, warns in a kernel unless petri.core's filter came first."
    late = []
    for nb in sorted(NBS.glob('*.ipynb')):
        seen = [p for cell in json.loads(nb.read_text())['cells'] if cell['cell_type'] == 'code'
                for p in first_imports(''.join(cell['source']))]
        heavy = next((i for i, p in enumerate(seen) if p in ('transformers', 'tokenizers', 'datasets')), None)
        if heavy is not None and 'petri' not in seen[:heavy]: late.append(f"{nb.name} ({seen[heavy]})")
    assert not late, f"import petri (or a petri module) before transformers in: {', '.join(late)}"
    assert first_imports("from petri.core import x\nimport torch\nfrom transformers import y") == ['petri', 'torch', 'transformers']
