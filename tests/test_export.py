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
