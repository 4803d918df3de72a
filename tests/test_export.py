"petri/ is generated from nbs/: exporting the notebooks again must reproduce it exactly."
import filecmp, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_package_matches_notebooks(tmp_path):
    for name in ('settings.ini', 'nbs', 'petri'):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    exporter = Path(sys.executable).parent / 'nbdev_export'
    subprocess.run([str(exporter)], cwd=tmp_path, check=True, capture_output=True)
    cmp = filecmp.dircmp(ROOT / 'petri', tmp_path / 'petri', ignore=['__pycache__'])
    differ = cmp.diff_files + cmp.left_only + cmp.right_only
    assert not differ, f"petri/ differs from what nbs/ exports: {differ}; run nbdev_export and commit"


def test_modules_import_only_what_lies_upstream():
    "Data flows one way: a module imports only modules of earlier chapters (its own name aside: workers re-import it)."
    import re
    chapter = {p.stem: int(m.group(1)) for p in (ROOT / 'petri').glob('*.py')
               if (m := re.search(r'File to edit: \.\./nbs/(\d+)_', p.read_text()))}
    assert {'core', 'config', 'train', 'sweep', 'cli'} <= set(chapter)
    backwards = [(name, used) for name in chapter
                 for used in re.findall(r'^\s*from (?:\.|petri\.)(\w+) import', (ROOT / 'petri' / f'{name}.py').read_text(), re.M)
                 if used in chapter and chapter[used] > chapter[name]]
    assert not backwards, f"modules importing from later chapters: {backwards}"
