"""petri as a user installs it: the wheel, installed without -e into a fresh venv, used from a directory outside
the checkout. The venv gets torch 2.13.0 first, then the wheel with the lock as constraints (the versions CI
tests), so pip never fetches anything the lock does not name; `datasets` is the user's, to read a dataset."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ('settings.ini', 'setup.py', 'README.md', 'LICENSE', 'petri', 'sweeps', 'experiments', 'results')


def run(cmd, cwd, env, timeout=600) -> str:
    "Run `cmd`; fail the test with its output if it fails."
    p = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p.stdout


@pytest.fixture(scope='module')
def user(tmp_path_factory):
    "(bin directory of the fresh venv, the user's working directory, the environment of their shell)"
    tmp = tmp_path_factory.mktemp('package')
    src = tmp / 'src'                        # a copy, so that building leaves nothing in the checkout
    src.mkdir()
    for name in SOURCES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(
            ROOT / name, src / name, **({'ignore': shutil.ignore_patterns('__pycache__')} if (ROOT / name).is_dir() else {}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(('PETRI_', 'PYTHON', 'VIRTUAL_ENV'))}
    run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', src, '-w', tmp / 'dist'], tmp, env)
    wheel, = (tmp / 'dist').glob('*.whl')
    run([sys.executable, '-m', 'venv', tmp / 'venv'], tmp, env)
    bin = tmp / 'venv' / 'bin'
    run([bin / 'python', '-m', 'pip', 'install', '-q', 'torch==2.13.0'], tmp, env)
    run([bin / 'python', '-m', 'pip', 'install', '-q', '-c', ROOT / 'requirements-lock.txt', wheel, 'datasets'], tmp, env)
    home = tmp / 'home'
    home.mkdir()
    return bin, home, env | {'PATH': f"{bin}:{env.get('PATH', '')}", 'OMP_NUM_THREADS': '1'}


def test_the_wheel_is_what_runs(user):
    bin, home, env = user
    where = run([bin / 'python', '-c', 'import petri; print(petri.__file__)'], home, env).strip()
    assert where.startswith(str(bin.parent)), where                       # not the checkout
    assert run(['petri', '--version'], home, env).startswith('petri ')
    names = run([bin / 'python', '-m', 'pip', 'list', '--format', 'json'], home, env)
    names = {d['name'].lower() for d in json.loads(names)}
    assert 'petri-crosslingual' in names and 'ray' not in names           # ray is an extra
    out = subprocess.run(['petri', 'sweep', 'smoke', '--out', 'x', '--engine', 'ray'], cwd=home, env=env, capture_output=True, text=True)
    assert out.returncode == 2 and "pip install 'petri-crosslingual[ray]'" in out.stderr, out.stderr


def test_data_train_and_hugging_face_formats(user):
    bin, home, env = user
    run(['petri', 'data', '--preset', 'smoke', '--out', 'data'], home, env)
    run(['petri', 'train', '--preset', 'smoke', '--data', 'data', '--epochs', '1', '--quiet', '--out', 'run'], home, env)
    check = """
import datasets, json, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from petri.dish import load_dataset
splits = datasets.load_dataset('data')
ours = load_dataset('data').examples
assert {s: len(splits[s]) for s in splits} == ours.split.value_counts().to_dict(), (splits, ours.split.value_counts())
model, tok = AutoModelForCausalLM.from_pretrained('run/final'), AutoTokenizer.from_pretrained('run/final')
row = splits['train'][0]
ids = tok(row['prompt'], return_tensors='pt').input_ids
with torch.no_grad(): out = model.generate(ids, max_new_tokens=3, do_sample=False)
print(json.dumps({'splits': sorted(splits), 'card': open('run/final/README.md').read()[:3], 'generated': out.shape[1] > ids.shape[1]}))
"""
    got = json.loads(run([bin / 'python', '-c', check], home, env).strip().splitlines()[-1])
    assert got == {'splits': ['test_cross', 'test_in', 'train'], 'card': '---', 'generated': True}


def test_sweeps_and_a_chapter_find_the_shipped_files(user):
    "The shipped smoke sweep by name; a sweep through the shipped experiment notebook; a chapter re-run by papermill."
    bin, home, env = user
    said = run(['petri', 'sweep', 'smoke', '--out', 'runs/smoke', '--workers', '1'], home, env)
    # the table's name, and whence
    assert said.splitlines()[-1].startswith('sweep book (spec ') and 'smoke.yml' in said.splitlines()[-1], said
    notebook = run([bin / 'python', '-c', "from petri.core import project_path; print(project_path('experiments', 'run.ipynb'))"],
                   home, env).strip()
    (home / 'one.yml').write_text("name: one\npreset: smoke\ngrid: {parallel: [0.2]}\nsettings: {epochs: 1, evals: 2, n_people: 60}\n"
                                  f"analysis: {{max_examples: 100, gradient_examples: 16}}\nnotebook: {notebook}\n")
    run(['petri', 'sweep', 'one.yml', '--out', 'runs/one'], home, env)
    assert list((home / 'runs' / 'one').glob('*/run.ipynb'))
    # the chapter reuses the smoke sweep above: runs_dir() is ./runs outside a checkout
    run([bin / 'papermill', ROOT / 'nbs' / '41_selection.ipynb', 'selection.ipynb', '-p', 'preset', 'smoke', '--no-progress-bar'],
        home, env)
    assert (home / 'selection.ipynb').is_file()
