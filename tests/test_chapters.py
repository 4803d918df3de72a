"""A chapter re-run by papermill with other settings, as a researcher re-runs one: the settings reach every run the
chapter trains, and a wrong one fails with petri's one-line message before anything trains."""
import json, os, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def papermill(tmp_path, *args):
    "Execute the unification chapter at the smoke preset with papermill `args`, its runs under tmp_path."
    env = {k: v for k, v in os.environ.items() if not k.startswith('PETRI_')} | {'PETRI_RUNS': str(tmp_path/'runs')}
    return subprocess.run([sys.executable, '-m', 'papermill', str(ROOT/'nbs'/'31_unify.ipynb'), str(tmp_path/'out.ipynb'),
                           '-p', 'preset', 'smoke', '-k', 'python3', '--cwd', str(ROOT/'nbs'), *args],
                          env=env, capture_output=True, text=True, timeout=900)


def test_a_chapter_reruns_on_pythia_with_a_larger_graph(tmp_path):
    done = papermill(tmp_path, '-y', 'settings: {arch: pythia, n_people: 120}')
    assert done.returncode == 0, done.stderr[-3000:]
    configs = [json.loads(p.read_text())['config'] for p in (tmp_path/'runs'/'smoke').glob('*/config.json')]
    assert configs and {(c['train']['model']['arch'], c['data']['kg']['n_people']) for c in configs} == {('pythia', 120)}
    # no warning (tqdm's in a kernel without ipywidgets, torch's on vmap over Pythia's fused attention) and no numpy
    # repr where a number is meant
    outputs = [o for c in json.loads((tmp_path/'out.ipynb').read_text())['cells'] for o in c.get('outputs', [])]
    assert outputs and not [o for o in outputs if re.search(r'Warning|np\.(float|int)\d*\(', json.dumps(o))]


def test_an_unknown_chapter_setting_fails_in_one_line(tmp_path):
    done = papermill(tmp_path, '-y', 'settings: {colour: red}')
    last = [l for l in done.stderr.splitlines() if l.strip()][-1]
    assert done.returncode != 0 and last.startswith('PetriError: unknown setting(s) colour; known: arch'), last
    assert not list((tmp_path/'runs').glob('smoke/*/config.json'))                 # nothing trained

