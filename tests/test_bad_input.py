"Bad input gets one line, exit status 2, and leaves nothing behind that would block the corrected rerun."
import re
import numpy as np
import pytest
from petri.cli import main
from petri.core import PetriError
from petri.datasets import mutual_information
from petri.kg import pseudo_words
from petri.sweep import load_spec, run_sweep
from petri.unify import unification_score


def petri(capsys, *argv) -> tuple[int, str]:
    "Run the command line in this process: (exit status, stderr)."
    try: status = main(list(argv))
    except SystemExit as e: status = e.code
    return status, capsys.readouterr().err


def one_line_error(status, err, *words):
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err, err
    for w in words: assert w in err, err


@pytest.mark.parametrize('argv, words', [
    (['data', '--preset', 'smoke', '--data-seed', '-1'], ['seed must be an integer in [0, 2**32)']),
    (['data', '--preset', 'smoke', '--data-seed', '99999999999999999999'], ['seed must be an integer']),
    (['data', '--preset', 'smoke', '--n-templates', '1000000'], ['a dataset holds at most']),
    (['data', '--preset', 'smoke', '--n-people', '2', '--n-templates', '100000'], ['needs about']),
    (['data', '--preset', 'smoke', '--parallel', 'nan'], ['parallel must be a fraction']),
    (['data', '--preset', 'smoke', '--language-ratio', 'inf'], ['language_ratio']),
    (['data', '--preset', 'smoke', '--parallel-unit', 'fact'], ['parallel-unit']),
    (['train', '--preset', 'smoke', '--epochs', 'inf'], ['epochs must be a finite positive number']),
    (['train', '--preset', 'smoke', '--epochs', '0'], ['epochs must be a finite positive number']),
    (['train', '--preset', 'smoke', '--lr', 'inf'], ['lr must be a finite positive number']),
    (['train', '--preset', 'smoke', '--lr', 'nan'], ['lr must be a finite positive number']),
    (['train', '--preset', 'smoke', '--seed', '-1'], ['seed must be an integer']),
    (['train', '--preset', 'smoke', '--seed', '99999999999999999999'], ['seed must be an integer']),
    (['train', '--preset', 'smoke', '--data-seed', '-3'], ['seed must be an integer']),
    (['train', '--preset', 'smoke', '--schedule', 'early-0'], ['schedule must be uniform, early-P or late-P']),
    (['train', '--preset', 'smoke', '--schedule', 'early-100'], ['schedule must be uniform, early-P or late-P']),
    (['train', '--preset', 'smoke', '--schedule', 'middle-20'], ['schedule must be uniform, early-P or late-P']),
    (['train', '--preset', 'smoke', '--schedule', 'early-2.5'], ['schedule must be uniform, early-P or late-P']),
    (['data', '--preset', 'smoke', '--parallel-languages', '0-2'], ['names language 2, but the data have 2 languages']),
    (['data', '--preset', 'smoke', '--n-languages', '3', '--parallel-languages', '0-1,1-0'], ['names a group twice']),
    (['data', '--preset', 'smoke', '--n-languages', '3', '--parallel-languages', '0,1'], ['groups of two or more languages']),
    (['train', '--preset', 'smoke', '--n-languages', '3', '--parallel-languages', '1-1'], ['names a language twice']),
    (['train', '--preset', 'smoke', '--parallel-languages', '0-1', '--variant', 'repeated'], ['takes no parallel_languages']),
    (['train', '--preset', 'smoke', '--evals', '1000000000'], ['evals must be a positive integer of at most 10,000']),
    (['train', '--preset', 'smoke', '--batch-size', '10000000'], ['GiB of activations (batches of 10000000 examples']),
    (['data', '--preset', 'smoke', '--n-languages', '3', '--parallel-languages', '0-1,0-2', '--parallel', '0.9'],
     ['parallel can be at most 0.333']),
])
def test_bad_settings_fail_before_any_directory_exists(capsys, tmp_path, argv, words):
    out = tmp_path / 'out'
    one_line_error(*petri(capsys, *argv, '--out', str(out)), *words)
    assert not out.exists() and not list(tmp_path.iterdir())      # nothing blocks the corrected rerun, no temp dir


def test_help_loads_neither_torch_nor_pandas(tmp_path):
    "`petri --help` reads its settings' help without the heavy libraries: pandas stays a lazy module (about 0.2 s saved)."
    import subprocess, sys
    code = ("import sys\nfrom petri.cli import main\ntry: main(['train', '--help'])\nexcept SystemExit: pass\n"
            "print('torch' in sys.modules, type(sys.modules['pandas']).__name__)")
    done = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True)
    assert '--parallel-languages' in done.stdout and done.stdout.split()[-2:] == ['False', '_LazyModule'], (done.stdout[-300:], done.stderr)


def test_a_bad_training_setting_fails_before_torch_loads(tmp_path):
    "The settings are checked before the heavy imports, so a typo is reported in about a second, not after torch has loaded."
    import subprocess, sys
    code = ("import sys\nfrom petri.cli import main\nstatus = main(['train', '--preset', 'smoke', '--lr', '-1', '--out', 'x'])\n"
            "print(status, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True)
    assert done.stdout.split() == ['2', 'False'] and 'lr must be a finite positive number' in done.stderr, (done.stdout, done.stderr)
    assert not (tmp_path/'x').exists()


def test_a_schedule_too_short_for_the_parallel_data_is_one_line(capsys, tmp_path):
    "The window is checked against the data before the first step: the parallel examples must fit in it."
    status, err = petri(capsys, 'train', '--preset', 'smoke', '--parallel', '0.3', '--schedule', 'early-5', '--out', str(tmp_path/'r'))
    one_line_error(status, err, 'choose a longer window or less parallel data')
    assert not (tmp_path/'r').exists()                                          # nothing left to block the corrected rerun


def test_corrected_rerun_after_a_bad_setting_works(capsys, tmp_path):
    out = tmp_path / 'd'
    one_line_error(*petri(capsys, 'data', '--preset', 'smoke', '--data-seed', '-1', '--out', str(out)))
    assert petri(capsys, 'data', '--preset', 'smoke', '--data-seed', '1', '--out', str(out))[0] == 0


def test_made_up_words_are_bounded_not_a_hang():
    with pytest.raises(PetriError, match='cannot make 1,000,000 distinct made-up words'):
        pseudo_words(1_000_000, np.random.default_rng(0))
    assert len(set(pseudo_words(2_000, np.random.default_rng(0)))) == 2_000


@pytest.mark.parametrize('grid, words', [
    ("parallel: {from: 0, to: 0.5, step: 0.000000001}", 'has 500,000,001 values'),
    ("parallel: {from: 0, to: 0.3, step: 0.01}\n    seed: {from: 0, to: 400, step: 1}", 'the grid asks for 12,431 runs'),
])
def test_sweep_grid_is_bounded(tmp_path, grid, words):
    spec = tmp_path / 's.yml'
    spec.write_text(f"name: s\npreset: smoke\ngrid:\n  - {grid}\n")
    with pytest.raises(PetriError, match=words):
        load_spec(spec)


@pytest.mark.parametrize('grid', ['seed: [-1]', 'seed: [1.5]', 'epochs: [.inf]', 'lr: [.inf]', 'parallel_unit: [fact]',
                                  'parallel: [0.1]\nanalysis: {max_examples: -5}', 'parallel: [0.1]\nanalysis: {seed: -1}',
                                  'parallel: [0.1]\nanalysis: {gradient_examples: 1.5}'])
def test_sweep_runs_are_checked_before_anything_is_written(tmp_path, grid):
    spec = tmp_path / 's.yml'
    spec.write_text(f"name: s\npreset: smoke\ngrid:\n  - {grid}\n")
    with pytest.raises(PetriError):
        run_sweep(spec, tmp_path / 'out', progress=False)
    assert not (tmp_path / 'out').exists()


def test_unification_score_rejects_non_finite_and_survives_huge_values():
    rng = np.random.default_rng(0)
    reps = rng.normal(size=(8, 5)) + 1.0          # a direction all share: a same-language baseline well above 0
    fact, lang = np.repeat(np.arange(2), 4), np.tile([0, 0, 1, 1], 2)
    score = unification_score(reps, fact, lang)
    assert unification_score(reps * 1e300, fact, lang) == pytest.approx(score)     # scale invariant, no overflow
    assert unification_score(reps * 1e-300, fact, lang) == pytest.approx(score)
    for bad in (np.inf, np.nan):
        r = reps.copy(); r[0, 0] = bad
        with pytest.raises(PetriError, match='must be finite'):
            unification_score(r, fact, lang)
    with pytest.raises(PetriError):
        unification_score(np.zeros((0, 5)), [], [])


def test_unification_has_no_score_where_the_same_language_baseline_is_about_zero():
    "Zero-mean random vectors: the same-language cosine is about 0, and a ratio to it would be noise (once: -3.10)."
    rng = np.random.default_rng(0)
    fact, lang = np.repeat(np.arange(50), 6), np.tile(np.repeat([0, 1], 3), 50)
    with pytest.raises(PetriError, match='on average below MIN_BASELINE=0.05'):
        unification_score(rng.normal(size=(300, 64)), fact, lang)


@pytest.mark.parametrize('x, y, words', [
    (None, [1], 'got None'),
    (np.zeros((3, 2)), np.zeros((3, 2)), '1-D arrays'),
    ([], [], 'at least one pair'),
    ([1, 2], [1], 'same length'),
])
def test_mutual_information_rejects_bad_arrays(x, y, words):
    with pytest.raises(PetriError, match=words):
        mutual_information(x, y)


def test_broken_petri_files_are_one_line(capsys, tmp_path):
    import json
    kg = tmp_path / 'kg'; kg.mkdir()
    (kg / 'kg.json').write_text(json.dumps({'config': {}}))
    one_line_error(*petri(capsys, 'data', '--preset', 'smoke', '--kg', str(kg), '--out', str(tmp_path / 'x')), 'lacks first_names')
    spec = tmp_path / 'latin1.yml'
    spec.write_bytes('name: s\npreset: smoke\ngrid: {parallel: [0.1]}\n# caf\xe9\n'.encode('latin-1'))
    one_line_error(*petri(capsys, 'sweep', str(spec), '--out', str(tmp_path / 's')), 'not UTF-8')
    assert not (tmp_path / 'x').exists() and not (tmp_path / 's').exists()


def test_a_failure_record_without_error_is_reported(tmp_path):
    from petri.sweep import _skipped
    (tmp_path / 'failed').mkdir()
    (tmp_path / 'failed' / 'r1.json').write_text('{"run": "r1"}')
    assert 'no error recorded' in _skipped(tmp_path, 'r1', retry_failed=False)['error']


def test_sweep_into_a_run_directory_is_refused(tmp_path):
    run = tmp_path / 'run'; run.mkdir()
    (run / 'config.json').write_text('{}')
    spec = tmp_path / 's.yml'
    spec.write_text("name: s\npreset: smoke\ngrid: {parallel: [0.1]}\n")
    with pytest.raises(PetriError, match='is a run directory'):
        run_sweep(spec, run, progress=False)
    assert sorted(p.name for p in run.iterdir()) == ['config.json']


@pytest.mark.parametrize('argv', [['--workers', '-2'], ['--workers', '0']])
def test_bad_workers_write_nothing(capsys, tmp_path, argv):
    spec = tmp_path / 's.yml'
    spec.write_text("name: s\npreset: smoke\ngrid: {parallel: [0.1]}\n")
    status, err = petri(capsys, 'sweep', str(spec), '--out', str(tmp_path / 'out'), *argv)
    one_line_error(status, err, 'workers')
    assert not (tmp_path / 'out').exists()


def test_flores_rejects_a_negative_sentence_count(tmp_path):
    from petri.llm import load_flores
    with pytest.raises(PetriError, match='max_sentences must be a positive integer'):
        load_flores(tmp_path, ['en'], max_sentences=-1)


@pytest.mark.parametrize('preset, people', [('smoke', 401), ('quick', 3000)])
def test_more_people_than_the_preset_get_names(capsys, tmp_path, preset, people):
    from petri.config import data_config
    from petri.kg import make_kg
    kg = make_kg(data_config(preset, n_people=people).kg)
    assert len(kg.people) == people and kg.people[['first_name', 'last_name']].drop_duplicates().shape[0] == people


def test_gpu_sweep_without_a_gpu_fails_before_writing(tmp_path):
    import torch
    if torch.cuda.is_available(): pytest.skip('this machine has a GPU')
    spec = tmp_path / 's.yml'
    spec.write_text("name: s\npreset: smoke\ndevice: cuda\ngrid: {parallel: [0.1]}\n")
    with pytest.raises(PetriError, match='CUDA is not available'):
        run_sweep(spec, tmp_path / 'out', progress=False)
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('where', ['file', 'readonly'])
def test_os_errors_are_one_line(capsys, tmp_path, where):
    import os
    if where == 'file':
        (tmp_path / 'afile').write_text('x')
        out = tmp_path / 'afile' / 'd'                       # a file where a directory must go
    else:
        ro = tmp_path / 'ro'; ro.mkdir(); os.chmod(ro, 0o500)
        if os.access(ro, os.W_OK): pytest.skip('root writes through permissions; the file case covers OSError')
        out = ro / 'd'
    status, err = petri(capsys, 'data', '--preset', 'smoke', '--out', str(out))
    one_line_error(status, err, str(tmp_path))


def test_full_disk_during_data_is_one_line_and_leaves_nothing(capsys, tmp_path, monkeypatch):
    import errno
    from petri import dish
    def full(df, path): raise OSError(errno.ENOSPC, 'No space left on device', str(path))
    monkeypatch.setattr(dish, 'write_parquet', full)
    status, err = petri(capsys, 'data', '--preset', 'smoke', '--out', str(tmp_path / 'd'))
    one_line_error(status, err, 'No space left on device', 'train.parquet')
    assert not list(tmp_path.iterdir())                      # no half-written dataset, no temporary directory


# --- OS errors name the path the user gave (not a hidden temporary), and leave nothing behind

def test_an_output_under_proc_is_one_line(capsys):
    one_line_error(*petri(capsys, 'data', '--preset', 'smoke', '--out', '/proc/petri-test/d'), '/proc/petri-test')


def test_a_sweep_out_that_is_a_file_is_one_line(capsys, tmp_path):
    spec, out = tmp_path / 's.yml', tmp_path / 'afile'
    spec.write_text("name: s\npreset: smoke\ngrid: {parallel: [0.1]}\n")
    out.write_text('x')
    one_line_error(*petri(capsys, 'sweep', str(spec), '--out', str(out)), str(out))
    assert out.read_text() == 'x'


def test_a_read_only_file_system_is_one_line(capsys, tmp_path, monkeypatch):
    "Root writes through permissions and CI cannot mount, so the read-only file system is simulated where the temporary is made."
    import errno, tempfile
    def read_only(*a, **kw): raise OSError(errno.EROFS, 'Read-only file system', kw.get('dir'))
    monkeypatch.setattr(tempfile, 'mkdtemp', read_only)
    status, err = petri(capsys, 'data', '--preset', 'smoke', '--out', str(tmp_path / 'ro' / 'd'))
    one_line_error(status, err, 'Read-only file system', str(tmp_path / 'ro' / 'd'))
    assert not (tmp_path / 'ro' / 'd').exists()


def test_full_disk_during_training_is_one_line_and_the_rerun_resumes(capsys, tmp_path, monkeypatch):
    import errno
    from petri import train
    real, calls = train.write_parquet, []
    def fills_up(df, path):
        calls.append(path)
        if len(calls) == 3: raise OSError(errno.ENOSPC, 'No space left on device', str(path))
        real(df, path)
    monkeypatch.setattr(train, 'write_parquet', fills_up)
    out = tmp_path / 'run'
    argv = ['train', '--preset', 'smoke', '--epochs', '1', '--quiet', '--out', str(out)]
    one_line_error(*petri(capsys, *argv), 'No space left on device', 'metrics.parquet')
    monkeypatch.setattr(train, 'write_parquet', real)
    assert petri(capsys, *argv)[0] == 0                                   # the corrected rerun resumes the run
    assert 'resumed at step' in (out / 'train.log').read_text() and (out / 'summary.json').exists()
    assert not [p for p in out.rglob('.*.tmp')]


# --- broken dataset directories given with --data fail before the run directory exists

def _broken_dataset(tmp_path, how):
    import json
    import pandas as pd
    from petri.config import data_config
    from petri.dish import build_dataset
    d = build_dataset(data_config('smoke'), tmp_path / 'data')
    ex = d / 'train.parquet'
    if how == 'no rows': pd.read_parquet(ex).iloc[:0].to_parquet(ex, index=False)
    if how == 'no column': pd.read_parquet(ex).drop(columns='attribute').to_parquet(ex, index=False)
    if how == 'truncated': ex.write_bytes(ex.read_bytes()[:200])
    if how == 'tokenizer': (d / 'tokenizer' / 'tokenizer.json').write_text('{"not": "a tokenizer"}')
    if how == 'config': (d / 'config.json').write_text('[1, 2]')
    elif how != 'checksummed':        # a dataset built before datasets were checksummed: the damage itself is named
        meta = json.loads((d / 'config.json').read_text())
        (d / 'config.json').write_text(json.dumps({k: v for k, v in meta.items() if k != 'files'}))
    if how == 'checksummed': pd.read_parquet(ex).assign(attribute=None).to_parquet(ex, index=False)
    return d


@pytest.mark.parametrize('how, words', [('no rows', 'has no training examples'), ('no column', 'lacks column(s) attribute'),
                                        ('truncated', 'corrupted parquet file'), ('tokenizer', 'corrupted tokenizer'),
                                        ('config', 'is not a petri dataset config'),
                                        ('checksummed', 'train.parquet changed after the build')])
def test_broken_datasets_fail_before_the_run_exists(capsys, tmp_path, how, words):
    d = _broken_dataset(tmp_path, how)
    out = tmp_path / 'run'
    one_line_error(*petri(capsys, 'train', '--preset', 'smoke', '--data', str(d), '--out', str(out)), words)
    assert not out.exists()


# --- leftovers: a killed command's temporary goes with the next run; one run directory, one process

def test_a_data_build_killed_by_sigkill_leaves_nothing_after_the_rerun(tmp_path):
    import os, signal, subprocess, sys, time
    out = tmp_path / 'd'
    argv = [sys.executable, '-c', 'import sys; from petri.cli import main; sys.exit(main(sys.argv[1:]))',
            'data', '--preset', 'quick', '--out', str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not any(p.name.endswith('.tmp') for p in tmp_path.iterdir()):
        time.sleep(0.005)
    assert proc.poll() is None, "the build ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL); proc.wait()
    assert [p for p in tmp_path.iterdir() if p.name.endswith('.tmp')]                 # what kill -9 leaves
    assert subprocess.run(argv, capture_output=True).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ['d']                        # the rerun removed it


def test_two_trainings_in_one_directory_are_refused(capsys, tmp_path):
    import subprocess, sys
    out = tmp_path / 'run'
    argv = ['train', '--preset', 'smoke', '--epochs', '1', '--quiet', '--out', str(out)]
    assert petri(capsys, *argv)[0] == 0
    (out / 'summary.json').unlink()                                                  # an interrupted run, to resume
    holder = subprocess.Popen([sys.executable, '-c', f"from petri.core import locked; import time\n"
                                                     f"with locked({str(out)!r}): print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        holder.stdout.readline()                                                     # another process trains there now
        one_line_error(*petri(capsys, *argv), 'is in use by another process')
    finally: holder.kill(); holder.wait()
    assert petri(capsys, *argv)[0] == 0                                               # free again: it resumes


# --- the command line answers at once: without torch, transformers or scikit-learn

def test_argument_errors_and_help_do_not_load_the_heavy_libraries():
    import subprocess, sys
    code = ("import sys\nfrom petri.cli import main\nfor argv in (['train', '--epochs', 'x', '--out', 'o'], ['--help'], ['--version']):\n"
            "    try: main(argv)\n    except SystemExit as e: print(e.code)\n"
            "print(sorted(m for m in ('torch', 'transformers', 'sklearn', 'scipy') if m in sys.modules))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.stdout.split('\n')[-2:] == ['[]', ''] and 'petri 0' in r.stdout, r.stdout + r.stderr
    assert 'petri train: error: argument --epochs' in r.stderr


# --- twenty-odd more, found by trying

@pytest.mark.parametrize('argv, words', [
    (['data', '--preset', 'smoke', '--out', ''], ['expected a path, got an empty string']),
    (['data', '--preset', 'smoke', '--n-people', '0'], ['n_people must be an integer >= 2']),
    (['data', '--preset', 'smoke', '--n-templates', '0'], ['need at least 2 templates']),
    (['data', '--preset', 'smoke', '--parallel', '1.0'], ['parallel must be a fraction in [0, 1)']),
    (['data', '--preset', 'smoke', '--n-people', '100000000'], ['a dataset holds at most 10,000,000']),
    (['data', '--preset', 'smoke', '--data-seed', '1.5'], ["argument --data-seed: expected int, got '1.5'"]),
    (['train', '--preset', 'smoke', '--scale', '3x'], ['argument --scale: invalid choice']),
    (['train', '--preset', 'smoke', '--data', '/nonexistent/petri'], ['no dataset directory at /nonexistent/petri']),
])
def test_more_bad_settings(capsys, tmp_path, argv, words):
    out = tmp_path / 'out'
    status, err = petri(capsys, *(argv if '--out' in argv else [*argv, '--out', str(out)]))
    one_line_error(status, err, *words)
    assert not out.exists()


@pytest.mark.parametrize('kg, words', [('a file', 'missing file'), ('bad json', 'corrupted JSON')])
def test_a_broken_kg_is_one_line(capsys, tmp_path, kg, words):
    path = tmp_path / 'kg'
    if kg == 'a file': path.write_text('x')
    else: path.mkdir(); (path / 'kg.json').write_text('{bad')
    one_line_error(*petri(capsys, 'data', '--preset', 'smoke', '--kg', str(path), '--out', str(tmp_path / 'x')), words)
    assert not (tmp_path / 'x').exists()


@pytest.mark.parametrize('text, words', [
    ('', 'expected a mapping'),
    ('- a\n- b\n', 'expected a mapping'),
    ('name: s\npreset: smoke\ngrid: {paralel: [0.1]}\n', "unknown setting(s) paralel"),
    ('name: s\npreset: smoke\nnotebook: nope.ipynb\ngrid: {parallel: [0.1]}\n', 'no experiment notebook at'),
    ('name: s\npreset: smoke\nnotebook: [run]\ngrid: {parallel: [0.1]}\n', 'notebook must be a path or the name of a shipped notebook'),
    ('name: ../../evil\npreset: smoke\ngrid: {parallel: [0.1]}\n', 'sweep name must be letters'),
    ('name: s\npreset: smoke\nworkers: 0\ngrid: {parallel: [0.1]}\n', 'workers must be a positive integer'),
    ('name: s\npreset: smoke\ngrid: {n_people: [100000000]}\n', 'a dataset holds at most'),
    ('name: s\npreset: huge\ngrid: {parallel: [0.1]}\n', "unknown preset 'huge'"),
    ('name: s\npreset: smoke\ngrid: {parallel: {from: 0, to: .inf, step: 0.1}}\n', 'needs finite numbers'),
    ('name: s\npreset: smoke\ngrid: {parallel: {from: 0, to: 1, step: .nan}}\n', 'needs finite numbers'),
    ('name: s\npreset: smoke\ngrid: {parallel: [0.1]}\ngrid: {parallel: [0.2]}\n', 'key(s) grid given twice'),
    ('name: s\npreset: smoke\ngrid: {parallel: [0.1], parallel: [0.2]}\n', 'key(s) parallel given twice'),
    ('a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n'
     'name: s\npreset: smoke\nsettings: {lr: *c}\ngrid: {parallel: [0.1]}\n', 'uses YAML aliases'),
    ('x: &s [0, 1]\nname: s\npreset: smoke\nseeds: *s\ngrid: {parallel: [0.1]}\n', 'uses YAML aliases'),
])
def test_more_bad_sweep_specs(capsys, tmp_path, text, words):
    spec = tmp_path / 's.yml'
    spec.write_text(text)
    one_line_error(*petri(capsys, 'sweep', str(spec), '--out', str(tmp_path / 'out')), words)
    assert not (tmp_path / 'out').exists()


def test_a_sweep_spec_that_is_a_directory(capsys, tmp_path):
    one_line_error(*petri(capsys, 'sweep', str(tmp_path), '--out', str(tmp_path / 'out')), 'no sweep spec at')


@pytest.fixture(scope='module')
def interrupted(tmp_path_factory):
    "A smoke run with its summary removed: an interrupted run that a rerun would resume."
    from petri.cli import main
    out = tmp_path_factory.mktemp('interrupted') / 'run'
    assert main(['train', '--preset', 'smoke', '--epochs', '1', '--quiet', '--out', str(out)]) == 0
    (out / 'summary.json').unlink()
    return out


@pytest.mark.parametrize('damage, words', [('checkpoint', 'corrupted checkpoint'), ('metrics', 'corrupted parquet file'),
                                           ('trainer state', 'corrupted trainer state'), ('config', 'corrupted JSON')])
def test_a_damaged_run_is_one_line(capsys, tmp_path, interrupted, damage, words):
    import shutil
    out = tmp_path / 'run'
    shutil.copytree(interrupted, out)
    last = sorted((out / 'checkpoints').iterdir())[-1]
    target = {'checkpoint': last / 'model.safetensors', 'metrics': out / 'metrics.parquet',
              'trainer state': last / 'trainer_state.pt', 'config': out / 'config.json'}[damage]
    target.write_bytes(target.read_bytes()[:40])
    one_line_error(*petri(capsys, 'train', '--preset', 'smoke', '--epochs', '1', '--quiet', '--out', str(out)), words)


@pytest.mark.parametrize('lr, words', [('1e3', 'training diverged before step'), ('1e20', 'the model has probably diverged')])
def test_a_diverging_learning_rate_is_named(capsys, tmp_path, lr, words):
    one_line_error(*petri(capsys, 'train', '--preset', 'smoke', '--epochs', '2', '--lr', lr, '--quiet', '--out', str(tmp_path / 'r')),
                   words, 'lower the learning rate')


# --- the architecture's components: a wrong value or a component the architecture lacks, by command and by sweep spec

@pytest.mark.parametrize('argv, words', [
    (['--rotary', '0.5'], ['rotary is a setting of pythia models, not gemma2']),
    (['--arch', 'pythia', '--final-softcap', '30'], ['final_softcap is a setting of gemma2 models, not pythia']),
    (['--arch', 'pythia', '--no-parallel-residual', '--rotary', '0.1'], ["turns an even number of each head's 16 dimensions"]),
    (['--arch', 'pythia', '--rotary', '0'], ['model rotary must be a share in (0, 1]']),
    (['--final-softcap', '-1'], ['final_softcap must lie in [0, 10000]']),
    (['--attn-softcap', 'nan'], ['attn_softcap must be a number or none']),
    (['--tie-embeddings', '--attn-softcap', 'big'], ["argument --attn-softcap: expected float or none, got 'big'"]),
    (['--hidden', '1000000', '--intermediate', '1000000'], ["petri's models have at most 4,096"]),
    (['--layers', '100000'], ["model layers is 100,000; petri's models have at most 256"]),
    (['--layers', '256', '--hidden', '4096', '--intermediate', '16384'], ["petri's models have at most 1,000,000,000",
                                                                          'petri.config.MAX_PARAMETERS']),
    (['--epochs', '1e9'], ['make about 31,250,000,000 steps; a run takes at most 10,000,000', 'petri.config.MAX_STEPS']),
])
def test_bad_components_fail_before_anything_is_written(capsys, tmp_path, argv, words):
    out = tmp_path / 'out'
    one_line_error(*petri(capsys, 'train', '--preset', 'smoke', *argv, '--out', str(out)), *words)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize('grid, words', [('rotary: [0.5]', 'rotary is a setting of pythia models'),
                                         ('arch: [pythia]\n    parallel_residual: [maybe]', 'parallel_residual must be true or false'),
                                         ('final_softcap: [-3]', 'final_softcap must lie in [0, 10000]')])
def test_bad_components_in_a_sweep_spec(capsys, tmp_path, grid, words):
    spec = tmp_path / 's.yml'
    spec.write_text(f"name: s\npreset: smoke\ngrid:\n  - {grid}\n")
    one_line_error(*petri(capsys, 'sweep', str(spec), '--out', str(tmp_path / 'out')), words)
    assert not (tmp_path / 'out').exists()


def test_a_run_directory_given_as_a_dataset_and_a_dataset_as_the_output(capsys, tmp_path, interrupted):
    one_line_error(*petri(capsys, 'train', '--data', str(interrupted), '--out', str(tmp_path / 'out')),
                   'is a run directory, not a dataset', str(interrupted / 'data'))
    data = interrupted / 'data'
    one_line_error(*petri(capsys, 'train', '--data', str(data), '--out', str(data)), 'is a dataset directory, not a run')
    assert not (tmp_path / 'out').exists()


def test_a_finished_run_missing_its_final_model_is_completed(capsys, tmp_path):
    import shutil
    out = tmp_path / 'run'
    assert main(['train', '--preset', 'smoke', '--epochs', '1', '--quiet', '--out', str(out)]) == 0
    shutil.rmtree(out / 'final')
    assert main(['train', '--preset', 'smoke', '--epochs', '1', '--quiet', '--out', str(out)]) == 0
    assert (out / 'final' / 'model.safetensors').is_file() and 'resumed at step' in (out / 'train.log').read_text()


@pytest.mark.parametrize('call, words', [
    (lambda: unification_score(np.eye(4), [0, 0, 1, 1], [0, None, 0, 1]), 'language labels must not be missing (None or NaN): 1 are'),
    (lambda: unification_score(np.eye(4), [0, 0, np.nan, 1], [0, 1, 0, 1]), 'fact labels must not be missing'),
    (lambda: unification_score(np.eye(4), np.zeros((4, 2)), [0, 1, 0, 1]), 'fact labels must be one label per representation'),
])
def test_missing_or_misshapen_labels_are_refused(call, words):
    with pytest.raises(PetriError, match=r'^' + words.replace('(', r'\(').replace(')', r'\)')): call()


def test_statistics_take_numpy_numbers_and_refuse_what_is_not_a_number():
    import pandas as pd
    from petri.stats import bootstrap_interval, spearman
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4], confidence=np.float32(0.95))['rho'] == pytest.approx(0.8)
    table = pd.DataFrame({'a': [1.0, 2.0, 3.0]})
    with pytest.raises(PetriError, match='the statistic must return a number, got ndarray'): bootstrap_interval(table, lambda t: t.a.values)
    with pytest.raises(PetriError, match=r'rounds must be a positive integer of at most 100,000'):
        bootstrap_interval(table, lambda t: t.a.mean(), rounds=10**9)


@pytest.mark.parametrize('ask, words', [('cpus: 64', 'a run asks for 64 CPUs and 0 GPUs'), ('gpus: 1', 'a run asks for 1 CPUs and 1 GPUs')])
def test_a_ray_request_no_node_can_meet_is_refused_before_anything_is_written(capsys, tmp_path, ask, words):
    pytest.importorskip('ray')
    spec = tmp_path / 's.yml'
    spec.write_text(f"name: s\npreset: smoke\n{ask}\ngrid: {{parallel: [0.1]}}\n")
    one_line_error(*petri(capsys, 'sweep', str(spec), '--engine', 'ray', '--out', str(tmp_path / 'out')), words, 'no node')
    assert not (tmp_path / 'out').exists()



def test_a_ray_address_where_nothing_listens_is_refused_at_once(capsys, tmp_path):
    "A closed port: one line within seconds (the probe), not Ray's retries and their log lines."
    import socket, time
    pytest.importorskip('ray')
    with socket.socket() as s:                      # a port that was free a moment ago: nothing listens there
        s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    spec = tmp_path / 's.yml'
    spec.write_text("name: s\npreset: smoke\ngrid: {parallel: [0.1]}\n")
    start = time.perf_counter()
    one_line_error(*petri(capsys, 'sweep', str(spec), '--engine', 'ray', '--address', f'127.0.0.1:{port}', '--out', str(tmp_path / 'out')),
                   f'cannot reach a Ray cluster at 127.0.0.1:{port}: nothing accepts a connection there')
    assert time.perf_counter() - start < 30 and not (tmp_path / 'out').exists()

def test_a_checkpoint_with_another_runs_weights_is_one_line(capsys, tmp_path):
    import shutil
    from petri.runs import latest_checkpoint
    run, other = tmp_path / 'run', tmp_path / 'other'
    for out, extra in ((run, []), (other, ['--hidden', '64'])):
        assert main(['train', '--preset', 'smoke', '--epochs', '1', '--quiet', *extra, '--out', str(out)]) == 0
    (run / 'summary.json').unlink()
    shutil.copy(other / 'final' / 'model.safetensors', latest_checkpoint(run) / 'model.safetensors')
    capsys.readouterr()
    one_line_error(*petri(capsys, 'train', '--preset', 'smoke', '--epochs', '1', '--quiet', '--out', str(run)),
                   'does not fit its own config.json')


def test_a_metric_history_of_other_columns_is_one_line(capsys, tmp_path, interrupted):
    import shutil
    import pandas as pd
    out = tmp_path / 'run'
    shutil.copytree(interrupted, out)
    pd.DataFrame({'a': [1, 2]}).to_parquet(out / 'metrics.parquet')
    one_line_error(*petri(capsys, 'train', '--preset', 'smoke', '--epochs', '1', '--quiet', '--out', str(out)),
                   'metrics.parquet lacks column(s) accuracy, fact_type, split, step', 'remove')


def test_data_through_a_symlink_to_an_empty_directory(capsys, tmp_path):
    (tmp_path / 'target').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'target')
    assert main(['data', '--preset', 'smoke', '--out', str(tmp_path / 'link')]) == 0
    assert (tmp_path / 'link').is_symlink() and (tmp_path / 'target' / 'config.json').is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith('.tmp')]


def test_templates_too_long_for_memory_are_refused_before_training(capsys, tmp_path):
    "1,500-word templates: a step would need about 55 GiB of activations; one line, and no run directory left behind."
    out = tmp_path / 'long'
    one_line_error(*petri(capsys, 'train', '--preset', 'smoke', '--min-words', '1500', '--max-words', '1500', '--pool-size', '1500',
                          '--n-templates', '2', '--parallel', '0', '--out', str(out)), 'GiB of activations', 'lower batch_size')
    assert not out.exists()


def test_pivot_and_language_pair_functions_refuse_what_they_cannot_read():
    import pandas as pd
    from petri.datasets import told_language
    from petri.pivot import pivot_differences, pivot_labels, pooled_accuracy
    from petri.train import language_pair_accuracy
    from petri.unify import pair_unification
    examples = pd.DataFrame({'split': ['train', 'test_in', 'test_cross'], 'person': [0, 0, 0], 'fact_type': ['birth_year'] * 3,
                             'language': [0, 0, 1]})
    for call, words in ((lambda: pivot_labels(pd.DataFrame({'parallel': [0.1]})), 'no column(s) parallel_languages'),
                        (lambda: pivot_labels(pd.DataFrame({'parallel': [0.1], 'parallel_languages': ['0-2']})), "other than 0-1,0-2"),
                        (lambda: pooled_accuracy(pd.DataFrame({'between_0_1': [0.5]}), [(0, 1)]), 'no column(s) questions_0_1'),
                        (lambda: pivot_differences(pd.DataFrame()), 'no column(s) design, seed, between_1_2, unification_1_2'),
                        (lambda: pair_unification(np.ones((4, 3)), [0, 0, 1], [0, 1, 0, 1]), 'one fact and one language per'),
                        (lambda: language_pair_accuracy(examples, [True]), 'one answer per example, got 1 for 3'),
                        (lambda: told_language(examples.drop(columns='split')), 'lack column(s) split')):
        with pytest.raises(PetriError, match=re.escape(words)): call()
