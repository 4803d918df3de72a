"The invariants of a Petri-dish dataset, checked through the public API and the command line."
import subprocess, sys
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from petri.cli import main
from petri.core import PetriError
from petri.datasets import language_attribute_mi
from petri.dish import build_dataset, data_config, load_dataset

KEYS = ['person', 'fact_type', 'language', 'template']


def rows(df):
    return set(map(tuple, df[KEYS].to_numpy()))


def test_no_in_language_test_verbalization_in_train(smoke_dataset):
    ex = smoke_dataset.examples
    train, test_in = ex[ex.split == 'train'], ex[ex.split == 'test_in']
    assert len(test_in) > 0
    assert not rows(test_in) & rows(train)
    assert not set(test_in.text) & set(train.text)


def test_cross_lingual_rows_use_only_the_other_language(smoke_dataset):
    ex = smoke_dataset.examples
    own = ex[(ex.split == 'train') & ~ex.parallel].groupby('person').language.first()
    cross = ex[ex.split == 'test_cross']
    assert (cross.person.map(own) != cross.language).all()
    test_in = ex[ex.split == 'test_in']
    assert (test_in.person.map(own) == test_in.language).all()
    # each cross-lingual fact is asked with every template of the other language
    n_templates = smoke_dataset.config.languages.n_templates
    assert (cross.groupby(['person', 'fact_type']).template.nunique() == n_templates).all()


def test_parallel_people_use_every_template_of_both_languages(smoke_dataset):
    ex, cfg = smoke_dataset.examples, smoke_dataset.config
    par = ex[ex.parallel]
    assert par.person.nunique() == round(cfg.split.parallel * cfg.kg.n_people)
    assert (par.split == 'train').all()
    per_fact = par.groupby(['person', 'fact_type'])[['language', 'template']].apply(lambda g: set(map(tuple, g.to_numpy())))
    every = {(l, t) for l in range(2) for t in range(cfg.languages.n_templates)}
    assert all(s == every for s in per_fact)


def test_train_size_does_not_depend_on_parallel_fraction(tmp_path):
    sizes = {p: load_dataset(build_dataset(data_config('smoke', parallel=p), tmp_path / str(p))).stats['examples']['train']
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


def test_same_seed_gives_byte_identical_examples(tmp_path):
    a = build_dataset(data_config('smoke', parallel=0.1, seed=7), tmp_path / 'a')
    b = build_dataset(data_config('smoke', parallel=0.1, seed=7), tmp_path / 'b')
    c = build_dataset(data_config('smoke', parallel=0.1, seed=8), tmp_path / 'c')
    assert (a / 'examples.parquet').read_bytes() == (b / 'examples.parquet').read_bytes()
    assert (a / 'examples.parquet').read_bytes() != (c / 'examples.parquet').read_bytes()


def test_imbalanced_is_more_informative_than_balanced(tmp_path):
    mi = {v: language_attribute_mi(load_dataset(build_dataset(data_config('smoke', parallel=0.05, variant=v), tmp_path / v)).examples)
          for v in ('balanced', 'unaltered', 'imbalanced')}
    assert (mi['imbalanced'] > mi['balanced']).all()
    assert (mi['imbalanced'] > mi['unaltered']).all()
    assert np.allclose(mi['balanced'], 0, atol=1e-9)


def test_language_ratio_splits_monolingual_people(tmp_path):
    ds = load_dataset(build_dataset(data_config('smoke', parallel=0.0, language_ratio=3), tmp_path / 'r3'))
    assert ds.stats['people']['monolingual'] == {'0': 75, '1': 25}


def test_examples_open_with_plain_pandas(smoke_dataset):
    df = pd.read_parquet(smoke_dataset.path / 'examples.parquet')
    assert {'split', 'person', 'fact_type', 'language', 'template', 'text', 'prompt', 'attribute', 'parallel'} <= set(df.columns)
    assert (df.text == df.prompt + df.attribute).all()
    assert set(df.split) == {'train', 'test_in', 'test_cross'}


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
    (['--templates', '1'], 'at least 2 templates'),
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
    before = (tmp_path / 'd' / 'examples.parquet').read_bytes()
    assert main(['data', '--preset', 'smoke', '--parallel', '0.2', '--out', str(tmp_path / 'd')]) == 2
    assert 'already holds a different dataset' in capsys.readouterr().err
    assert (tmp_path / 'd' / 'examples.parquet').read_bytes() == before
    (tmp_path / 'junk').mkdir(); (tmp_path / 'junk' / 'notes.txt').write_text('mine')
    assert main(['data', '--preset', 'smoke', '--out', str(tmp_path / 'junk')]) == 2
    assert sorted(p.name for p in (tmp_path / 'junk').iterdir()) == ['notes.txt']


def test_corrupted_dataset_is_reported_in_one_line(smoke_dataset, tmp_path):
    import shutil
    broken = tmp_path / 'broken'
    shutil.copytree(smoke_dataset.path, broken)
    (broken / 'examples.parquet').write_bytes(b'\x00' * 64)
    with pytest.raises(PetriError, match='corrupted parquet file'):
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
