"Bad input gets one line, exit status 2, and leaves nothing behind that would block the corrected rerun."
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
    (['data', '--preset', 'smoke', '--seed', '-1'], ['seed must be an integer in [0, 2**32)']),
    (['data', '--preset', 'smoke', '--seed', '99999999999999999999'], ['seed must be an integer']),
    (['data', '--preset', 'smoke', '--templates', '1000000'], ['needs about']),
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
])
def test_bad_settings_fail_before_any_directory_exists(capsys, tmp_path, argv, words):
    out = tmp_path / 'out'
    one_line_error(*petri(capsys, *argv, '--out', str(out)), *words)
    assert not out.exists() and not list(tmp_path.iterdir())      # nothing blocks the corrected rerun, no temp dir


def test_corrected_rerun_after_a_bad_setting_works(capsys, tmp_path):
    out = tmp_path / 'd'
    one_line_error(*petri(capsys, 'data', '--preset', 'smoke', '--seed', '-1', '--out', str(out)))
    assert petri(capsys, 'data', '--preset', 'smoke', '--seed', '1', '--out', str(out))[0] == 0


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
    reps = rng.normal(size=(8, 5))
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
    from petri.dish import data_config
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
    one_line_error(status, err, 'No space left on device', 'examples.parquet')
    assert not list(tmp_path.iterdir())                      # no half-written dataset, no temporary directory
