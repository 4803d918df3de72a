"The invariants of a Petri-dish dataset, checked through the public API and the command line."
import json, subprocess, sys
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from petri.cli import main
from petri.core import PetriError
from petri.datasets import EVENT_OF, SPLITS, UNITS, bridged_people, event_languages, expected_bridged_share, language_attribute_mi
from petri.config import data_config
from petri.dish import build_dataset, load_dataset

KEYS = ['person', 'fact_type', 'language', 'template']


def rows(df):
    return set(map(tuple, df[KEYS].to_numpy()))


@pytest.fixture(scope='module', params=UNITS)
def unit_dataset(request, tmp_path_factory):
    "A smoke-size dataset with 20% parallel data, split per event and per person."
    return load_dataset(build_dataset(data_config('smoke', parallel=0.2, parallel_unit=request.param),
                                      tmp_path_factory.mktemp('data') / request.param))


def own_language(examples, rows):
    "The language each row's event was told in (-1: parallel)."
    own = event_languages(examples).set_index(['person', 'event']).language
    return own.reindex(pd.MultiIndex.from_arrays([rows.person, rows.fact_type.map(EVENT_OF)])).to_numpy()


def test_no_in_language_test_verbalization_in_train(unit_dataset):
    ex = unit_dataset.examples
    train, test_in = ex[ex.split == 'train'], ex[ex.split == 'test_in']
    assert len(test_in) > 0
    assert not rows(test_in) & rows(train)
    assert not set(test_in.text) & set(train.text)


def test_cross_lingual_rows_use_only_the_other_language(unit_dataset):
    ex = unit_dataset.examples
    cross = ex[ex.split == 'test_cross']
    own = own_language(ex, cross)
    assert ((own != cross.language.to_numpy()) & (own >= 0)).all()
    test_in = ex[ex.split == 'test_in']
    assert (own_language(ex, test_in) == test_in.language.to_numpy()).all()
    # each cross-lingual fact is asked with every template of the other language
    n_templates = unit_dataset.config.languages.n_templates
    assert (cross.groupby(['person', 'fact_type']).template.nunique() == n_templates).all()


def test_parallel_units_use_every_template_of_both_languages(unit_dataset):
    ex, cfg = unit_dataset.examples, unit_dataset.config
    par = ex[ex.parallel]
    units = par.person.astype(str) + (par.fact_type.map(EVENT_OF) if cfg.split.parallel_unit == 'event' else '')
    per_unit = 2 if cfg.split.parallel_unit == 'event' else 1
    assert units.nunique() == round(cfg.split.parallel * cfg.kg.n_people * per_unit)
    assert (par.groupby(units).fact_type.nunique() == 4 // per_unit).all()     # a unit's facts are parallel together
    assert (par.split == 'train').all()
    per_fact = par.groupby(['person', 'fact_type'])[['language', 'template']].apply(lambda g: set(map(tuple, g.to_numpy())))
    every = {(l, t) for l in range(2) for t in range(cfg.languages.n_templates)}
    assert all(s == every for s in per_fact)


@pytest.mark.parametrize('unit', UNITS)
def test_train_size_does_not_depend_on_parallel_fraction(tmp_path, unit):
    sizes = {p: load_dataset(build_dataset(data_config('smoke', parallel=p, parallel_unit=unit),
                                           tmp_path / str(p))).stats['examples']['train']
             for p in (0.0, 0.3)}
    assert abs(sizes[0.3] - sizes[0.0]) / sizes[0.0] < 0.01


def test_template_filler_words_are_disjoint_by_default(smoke_dataset):
    templates = smoke_dataset.languages.templates
    words = [w for p in templates.pattern for w in p.split() if not w.startswith('{')]
    assert len(words) == len(set(words))
    ex = smoke_dataset.examples
    names = set(' '.join(ex.subject).split())
    vocab = {l: set(' '.join(ex[ex.language == l].prompt).split()) - names for l in (0, 1)}
    assert not vocab[0] & vocab[1]


@pytest.mark.parametrize('unit', UNITS)
def test_same_seed_gives_byte_identical_examples(tmp_path, unit):
    a = build_dataset(data_config('smoke', parallel=0.1, data_seed=7, parallel_unit=unit), tmp_path / 'a')
    b = build_dataset(data_config('smoke', parallel=0.1, data_seed=7, parallel_unit=unit), tmp_path / 'b')
    c = build_dataset(data_config('smoke', parallel=0.1, data_seed=8, parallel_unit=unit), tmp_path / 'c')
    for f in [f'{s}.parquet' for s in SPLITS] + ['README.md']:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / 'train.parquet').read_bytes() != (c / 'train.parquet').read_bytes()


@pytest.mark.parametrize('unit', UNITS)
def test_imbalanced_is_more_informative_than_balanced(tmp_path, unit):
    mi = {v: language_attribute_mi(load_dataset(build_dataset(data_config('smoke', parallel=0.05, variant=v, parallel_unit=unit),
                                                              tmp_path / v)).examples)
          for v in ('balanced', 'unaltered', 'imbalanced')}
    assert (mi['imbalanced'] > mi['balanced']).all()
    assert (mi['imbalanced'] > mi['unaltered']).all()
    assert np.allclose(mi['balanced'], 0, atol=1e-9)


def test_language_ratio_splits_monolingual_units(tmp_path):
    ds = load_dataset(build_dataset(data_config('smoke', parallel=0.0, language_ratio=3), tmp_path / 'r3'))
    assert ds.stats['events']['monolingual'] == {'0': 150, '1': 50}
    ds = load_dataset(build_dataset(data_config('smoke', parallel=0.0, language_ratio=3, parallel_unit='person'), tmp_path / 'p3'))
    assert ds.stats['people']['monolingual'] == {'0': 75, '1': 25} and ds.stats['people']['bridged'] == 0


@pytest.mark.parametrize('parallel', [0.0, 0.2])
def test_bridged_share_is_that_of_independent_events(tmp_path, parallel):
    cfg = data_config('quick', parallel=parallel)
    ds = load_dataset(build_dataset(cfg, tmp_path / 'e'))
    assert abs(ds.stats['bridged_share'] - expected_bridged_share(cfg.split)) < 0.05
    assert ds.stats['bridged_share'] == pytest.approx(bridged_people(ds.examples).mean())
    person = load_dataset(build_dataset(data_config('quick', parallel=parallel, parallel_unit='person'), tmp_path / 'p'))
    assert person.stats['bridged_share'] == 0


def test_dataset_written_before_events_loads_as_per_person(tmp_path):
    import json
    path = build_dataset(data_config('smoke', parallel=0.1, parallel_unit='person'), tmp_path / 'old')
    meta = json.loads((path / 'config.json').read_text())
    del meta['config']['split']['parallel_unit'], meta['config']['languages']['pool_size']
    del meta['config_digest'], meta['files']             # such a dataset was also built before the digests
    (path / 'config.json').write_text(json.dumps(meta))
    cfg = load_dataset(path).config
    assert (cfg.split.parallel_unit, cfg.languages.pool_size) == ('person', None)


@pytest.mark.parametrize('argv', [['data', '--preset', 'smoke', '--parallel-unit', 'fact'],
                                  ['train', '--preset', 'smoke', '--parallel-unit', 'fact']])
def test_unknown_parallel_unit_is_one_line(tmp_path, argv):
    cmd = [sys.executable, '-c', 'import sys; from petri.cli import main; sys.exit(main())']
    r = subprocess.run(cmd + argv + ['--out', str(tmp_path / 'x')], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and 'event, person' in r.stderr.replace("'", '')
    assert not (tmp_path / 'x').exists()


def test_examples_open_with_plain_pandas(smoke_dataset):
    for s in SPLITS:
        df = pd.read_parquet(smoke_dataset.path / f'{s}.parquet')
        assert {'split', 'person', 'fact_type', 'language', 'template', 'text', 'prompt', 'attribute', 'parallel'} <= set(df.columns)
        assert (df.text == df.prompt + df.attribute).all()
        assert set(df.split) == {s}


def test_examples_open_with_hugging_face_datasets(smoke_dataset, tmp_path):
    "The split files and the card's YAML front matter make the directory a Hugging Face dataset with petri's three splits."
    import datasets
    hf = datasets.load_dataset(str(smoke_dataset.path), cache_dir=str(tmp_path / 'cache'))
    assert list(hf) == list(SPLITS)
    ex = smoke_dataset.examples
    assert {s: hf[s].num_rows for s in SPLITS} == {s: int((ex.split == s).sum()) for s in SPLITS} == smoke_dataset.stats['examples']
    for s in SPLITS:
        assert list(hf[s]['text']) == list(ex[ex.split == s].text) and set(hf[s]['split']) == {s}


def test_dataset_in_the_old_layout_loads_to_the_same_examples(smoke_dataset, tmp_path):
    "A directory written before one file per split holds one examples.parquet (and no card); it still loads, unchanged."
    import shutil
    old = tmp_path / 'old'
    shutil.copytree(smoke_dataset.path, old)
    smoke_dataset.examples.to_parquet(old / 'examples.parquet', index=False)
    meta = json.loads((old / 'config.json').read_text())
    (old / 'config.json').write_text(json.dumps({k: v for k, v in meta.items() if k != 'files'}))   # and before checksums
    for f in [f'{s}.parquet' for s in SPLITS] + ['README.md']:
        (old / f).unlink()
    loaded = load_dataset(old)
    pd.testing.assert_frame_equal(loaded.examples, smoke_dataset.examples)
    assert loaded.config == smoke_dataset.config


def test_tokenizer_loads_with_auto_tokenizer(smoke_dataset):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(smoke_dataset.path / 'tokenizer')
    ex = smoke_dataset.examples.iloc[0]
    assert tok(ex.text).input_ids == smoke_dataset.tokenizer(ex.text).input_ids
    assert len(tok(ex.text).input_ids) == len(tok(ex.prompt).input_ids) + 1


def status_of(argv):
    "The exit status of the command line, whether it returns or argparse exits."
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


@pytest.mark.parametrize('argv, message', [
    (['--parallel', '1.0'], 'parallel must be a fraction in [0, 1)'),
    (['--parallel', '-0.1'], 'parallel must be a fraction in [0, 1)'),
    (['--n-templates', '1'], 'at least 2 templates'),
    (['--language-ratio', '0'], 'language_ratio must be a positive number'),
    (['--tokenizer', 'bpe'], "invalid choice: 'bpe'"),
    (['--preset', 'galactic'], "invalid choice: 'galactic'"),
])
def test_bad_input_is_one_line_and_nothing_is_written(tmp_path, capsys, argv, message):
    out = tmp_path / 'never'
    assert status_of(['data', '--preset', 'smoke', *argv, '--out', str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_output_directory_holding_another_dataset_is_refused(tmp_path, capsys):
    assert main(['data', '--preset', 'smoke', '--parallel', '0.1', '--out', str(tmp_path / 'd')]) == 0
    before = [(tmp_path / 'd' / f'{s}.parquet').read_bytes() for s in SPLITS]
    assert main(['data', '--preset', 'smoke', '--parallel', '0.2', '--out', str(tmp_path / 'd')]) == 2
    assert 'already holds a different dataset' in capsys.readouterr().err
    assert [(tmp_path / 'd' / f'{s}.parquet').read_bytes() for s in SPLITS] == before
    (tmp_path / 'junk').mkdir(); (tmp_path / 'junk' / 'notes.txt').write_text('mine')
    assert main(['data', '--preset', 'smoke', '--out', str(tmp_path / 'junk')]) == 2
    assert sorted(p.name for p in (tmp_path / 'junk').iterdir()) == ['notes.txt']


def test_corrupted_dataset_is_reported_in_one_line(smoke_dataset, tmp_path):
    import shutil
    broken = tmp_path / 'broken'
    shutil.copytree(smoke_dataset.path, broken)
    (broken / 'train.parquet').write_bytes(b'\x00' * 64)
    with pytest.raises(PetriError, match='train.parquet changed after the build'): load_dataset(broken)
    meta = json.loads((broken / 'config.json').read_text())
    (broken / 'config.json').write_text(json.dumps({k: v for k, v in meta.items() if k != 'files'}))   # a dataset without checksums
    with pytest.raises(PetriError, match='corrupted parquet file .*train.parquet') as e:
        load_dataset(broken)
    assert '\n' not in str(e.value)
    (broken / 'train.parquet').write_bytes((smoke_dataset.path / 'train.parquet').read_bytes())
    (broken / 'test_cross.parquet').unlink()
    with pytest.raises(PetriError, match='missing file .*test_cross.parquet'):
        load_dataset(broken)


def test_console_script_exits_non_zero_without_traceback(tmp_path):
    petri = Path(sys.executable).parent / 'petri'
    cmd = [str(petri)] if petri.exists() else [sys.executable, '-c', 'import sys; from petri.cli import main; sys.exit(main())']
    r = subprocess.run(cmd + ['data', '--preset', 'smoke', '--parallel', '2', '--out', str(tmp_path / 'x')],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == 'petri: error: parallel must be a fraction in [0, 1), got 2.0'
    r = subprocess.run(cmd + ['data', '--preset', 'smoke', '--out', str(tmp_path / 'ok')], capture_output=True, text=True)
    assert r.returncode == 0 and 'train 1600' in r.stdout
