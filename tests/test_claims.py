"""The reproduction chapter's statistics, each on data whose answer is known, and its table. The chapter's own checks
cover the claims file and `judge`; these cover what the table is computed from."""
import ast, re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from petri.claims import (LEARNED, accuracy_by_fact_type, choice_lead, choice_means, confusion_curve, early_unification,
                          kernel_spread, learned_runs, measurement, rise_and_fall, run_probe_accuracy, seeds_per_configuration,
                          styled_verdicts, unification_lead, verdict_table)
from petri.config import run_config
from petri.core import PetriError
from petri.runs import checkpoints
from petri.stats import mean_interval, paired_difference, pearson
from petri.train import train

ROOT = Path(__file__).resolve().parents[1]
CLAIM = {'claim': 'c', 'source': 'Fig. 1', 'study': 'r = 0.9', 'statistic': 'r', 'untested_if': 'fewer than 3 seeds', 'min_learned': np.nan}


def test_the_claims_file_ships_with_the_package():
    shipped = re.search(r"shipped = (\{.*\})", (ROOT / 'setup.py').read_text()).group(1)
    assert 'claims.yml' in ast.literal_eval(shipped)['experiments']


def test_a_measurement_keeps_each_kind_of_statistic():
    values = pd.Series([0.1, 0.2, 0.3, 0.4])
    for stat, name in ((mean_interval(values), 'mean'), (pearson(values, values ** 2), 'r'),
                       (paired_difference(values, values / 2), 'difference')):
        m = measurement(stat, runs=4, seeds=2, note='n')
        assert m['estimate'] == pytest.approx(stat[name]) and m['low'] <= m['estimate'] <= m['high']
        assert (m['runs'], m['seeds'], m['note']) == (4, 2, 'n')
    assert np.isnan(measurement({'mean': 0.5, 'low': 0.4, 'high': 0.6}, 1, 1)['p'])
    with pytest.raises(PetriError, match='a statistic needs an estimate'): measurement({'median': 0.5, 'low': 0, 'high': 1}, 1, 1)


def claims_frame():
    return pd.DataFrame([CLAIM | {'id': 'up', 'arch': 'gemma2', 'criterion': {'low_above': 0.0}, 'min_seeds': 3},
                         CLAIM | {'id': 'small', 'arch': 'pythia', 'criterion': {'high_below': 0.1}, 'min_seeds': 5}])


def test_the_verdict_table_judges_each_claim_on_its_architecture():
    measured = {('up', 'gemma2'): measurement({'difference': 0.2, 'low': 0.05, 'high': 0.35}, 6, 3),
                ('up', 'pythia'): measurement({'difference': 0.0, 'low': -0.1, 'high': 0.1}, 6, 3),
                ('small', 'pythia'): measurement({'mean': 0.05, 'low': 0.0, 'high': 0.1}, 6, 3)}
    table = verdict_table(claims_frame(), measured)
    assert table.verdict.tolist() == ['held', 'untested (3 seeds per configuration; needs 5)']
    assert table.kind.tolist() == ['held', 'untested']
    assert table.margin[0] == pytest.approx(1 / 3) and table.fragile[0]       # 0.05 above 0, a half-width of 0.15
    assert np.isnan(table.margin[1]) and not table.fragile[1]                 # an untested claim has no margin
    assert table.other_arch[0] == 'pythia' and table.other_verdict[0] == 'not held' and pd.isna(table.other_arch[1])


@pytest.mark.parametrize('measured, words', [
    ({}, 'claims not measured on their architecture: up (gemma2), small (pythia)'),
    ({('up', 'gemma2'): {}, ('small', 'pythia'): {}, ('other', 'gemma2'): {}}, 'measured but not in the claims file: other'),
    ({('up', 'pythia'): {}, ('small', 'pythia'): {}}, 'claims not measured on their architecture: up (gemma2)'),
])
def test_the_verdict_table_refuses_a_claim_missing_or_unknown(measured, words):
    with pytest.raises(PetriError) as e: verdict_table(claims_frame(), measured)
    assert words in str(e.value) and len(str(e.value).splitlines()) == 1


def test_the_styled_table_shows_verdict_margin_and_the_other_architecture():
    measured = {('up', 'gemma2'): measurement({'difference': 0.2, 'low': 0.15, 'high': 0.25}, 6, 3, note='a <note>'),
                ('small', 'pythia'): measurement({'mean': 0.2, 'low': 0.15, 'high': 0.25}, 10, 5),
                ('small', 'gemma2'): measurement({'mean': 0.05, 'low': 0.01, 'high': 0.09}, 10, 5)}
    html = styled_verdicts(verdict_table(claims_frame(), measured), 'caption').to_html()
    assert 'margin +3.0 half-widths' in html and 'a &lt;note&gt;' in html and '<b>gemma2</b>: 0.050 [0.010, 0.090]<br>held' in html
    assert html.count('background-color: #d9f2d9') >= 1 and html.count('background-color: #f8d7d7') >= 1 and 'caption' in html


def test_rise_and_fall_measures_a_peak_inside_the_curve():
    assert rise_and_fall(pd.Series([0.2, 0.6, 0.5])) == pytest.approx(0.1)    # the end holds most of the rise
    assert rise_and_fall(pd.Series([0.6, 0.2, 0.1])) == 0.0
    assert rise_and_fall(pd.Series([0.3])) == 0.0 and np.isnan(rise_and_fall(pd.Series(dtype=float)))


def test_accuracy_by_fact_type_reads_final_rows_of_one_split():
    results = pd.DataFrame({'run': ['a', 'a', 'a', 'b', 'b'], 'final': [True, True, True, True, False],
                            'split': ['test_cross', 'test_cross', 'test_in', 'test_cross', 'test_cross'],
                            'fact_type': ['birth_city', 'birth_year', 'birth_city', 'birth_city', 'birth_year'],
                            'accuracy': [0.2, 0.9, 1.0, 0.4, 0.0]})
    wide = accuracy_by_fact_type(results, ['a', 'b'])
    assert wide.loc['a'].to_dict() == {'birth_city': 0.2, 'birth_year': 0.9} and wide.loc['b', 'birth_city'] == 0.4
    assert np.isnan(wide.loc['b', 'birth_year'])                               # b's year row is not final
    assert accuracy_by_fact_type(results, ['a'], split='test_in').loc['a', 'birth_city'] == 1.0


def test_early_unification_reads_the_last_evaluation_in_the_first_tenth():
    steps = [0, 1, 3, 9, 30, 90]
    results = pd.DataFrame({'run': 'r', 'step': steps, 'split': 'train', 'fact_type': 'all', 'unification': np.linspace(0, 1, 6)})
    results = pd.concat([results, results.assign(split='test_in', unification=np.nan)])
    early, step = early_unification(results)
    assert step == 9 and early['r'] == pytest.approx(0.6)              # 9 is a tenth of 90
    assert early_unification(results, fraction=0.5)[1] == 30
    with pytest.raises(PetriError, match='fraction must be in'): early_unification(results, fraction=0)


def test_unification_lead_compares_absolute_correlations():
    runs = pd.DataFrame({'cross_lingual_accuracy': [0.1, 0.2, 0.3, 0.4], 'activation_unification': [0.4, 0.3, 0.2, 0.1],
                         'probe_accuracy': [1.0, 1.0, 0.0, 0.0]})
    r_probe = abs(np.corrcoef(runs.probe_accuracy, runs.cross_lingual_accuracy)[0, 1])
    assert unification_lead(runs, 'probe_accuracy') == pytest.approx(1 - r_probe)     # a perfect negative r counts as perfect
    assert unification_lead(runs, 'probe_accuracy', score='probe_accuracy') == 0


def test_choosing_by_a_useless_score_does_not_lead_the_oracle():
    rng = np.random.default_rng(1)
    cross = rng.uniform(0, 1, 24)
    pool = pd.DataFrame({'run': [f'r{i}' for i in range(24)], 'cross_lingual_accuracy': cross, 'activation_unification': cross,
                         'gradient_unification': rng.uniform(0, 1, 24), 'in_language_accuracy': 1.0, 'parallel': 0.1,
                         'cross_lingual_n': 200})
    means = choice_means(pool, rounds=40)
    assert choice_lead(means, 'unification (activation)', 'best (oracle)')(pool) == 0            # a perfect score is the oracle
    assert choice_lead(means, 'best (oracle)', 'unification (gradient)')(pool) > 0
    assert means(tuple(pool.run)) is means(tuple(pool.run))                                      # one selection per pool


def test_seeds_per_configuration_reads_the_settings_of_a_run_table():
    runs = pd.DataFrame({'run': list('abcde'), 'parallel': [0, 0, 0, 0.1, 0.1], 'seed': [0, 1, 2, 0, 1], 'data_seed': [0, 1, 2, 0, 1],
                         'cross_lingual_accuracy': 0.5})
    assert seeds_per_configuration(runs) == 2 and seeds_per_configuration(runs, ['seed']) == 5


@pytest.fixture(scope='module')
def smoke_run(tmp_path_factory):
    return train(run_config('smoke', parallel=0.2), tmp_path_factory.mktemp('runs') / 'run', progress=False)


def test_a_runs_confusion_curve_and_probe(smoke_run):
    curve = confusion_curve(smoke_run)
    assert set(curve.index) <= set(checkpoints(smoke_run)) - {0} and len(curve) > 0
    assert ((curve >= 0) & (curve <= 1)).all()
    assert 0 <= run_probe_accuracy(smoke_run) <= 1


def test_the_rule_splits_runs_at_the_floor():
    runs = pd.DataFrame({'run': list('abcd')})
    kept, out = learned_runs(runs, [LEARNED, LEARNED - 1e-9, 1.0, np.nan])
    assert list(kept.run) == ['a', 'c'] and list(out.run) == ['b', 'd']
    with pytest.raises(PetriError, match='4 runs but 3 in-language accuracies'): learned_runs(runs, [1, 1, 1])


def test_kernel_spread_compares_the_runs_both_recordings_hold():
    a = pd.DataFrame({'run': ['x', 'y'], 'in_language_accuracy': [0.9, 1.0], 'cross_lingual_accuracy': [0.2, 0.4]})
    b = pd.DataFrame({'run': ['y', 'x', 'z'], 'in_language_accuracy': [1.0, 0.8, 0.5], 'cross_lingual_accuracy': [0.1, 0.2, 0.9]})
    moved = kernel_spread(a, b, ['in_language_accuracy', 'cross_lingual_accuracy']).set_index('measure')
    assert moved.loc['in_language_accuracy', 'max_abs_difference'] == pytest.approx(0.1)
    assert moved.loc['cross_lingual_accuracy', 'median_abs_difference'] == pytest.approx(0.15)   # |0.2 - 0.2| and |0.1 - 0.4|
    assert (moved.runs == 2).all()
    with pytest.raises(PetriError, match='share no run'): kernel_spread(a, b.assign(run=['p', 'q', 'r']), ['in_language_accuracy'])
