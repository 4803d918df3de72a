"Predicting a run's final cross-lingual accuracy early (petri.selection), on made-up results tables."
import numpy as np
import pandas as pd
import pytest
from petri.core import PetriError
from petri.selection import (TARGET, compute_saved, earliest_fraction, early_prediction, features_at, leave_one_run_out,
                             monitor_ranking, training_progress)


def made_up(train: dict, unification: dict, final_cross: dict, steps=(0, 29, 100)) -> pd.DataFrame:
    "A results table of fact type 'all': train (= in-language) accuracy and the monitor per run and step; parallel = 0.1 * run index."
    rows = []
    for k, run in enumerate(train):
        for i, s in enumerate(steps):
            acc = {'train': train[run][i], 'test_in': train[run][i], 'test_cross': final_cross[run] * s / steps[-1]}
            rows += [{'run': run, 'parallel': 0.1 * k, 'step': s, 'split': split, 'fact_type': 'all', 'accuracy': a,
                      'label_prob': a, 'n': 100, 'unification': unification[run][i] if split == 'train' else np.nan,
                      'final': s == steps[-1]} for split, a in acc.items()]
    return pd.DataFrame(rows)


@pytest.fixture
def sweep():
    return made_up(train={'a': [0, .5, 1], 'b': [0, .2, .9], 'c': [0, .1, .3], 'd': [0, .6, 1]},
                   unification={'a': [1, .8, .7], 'b': [1, .6, .5], 'c': [1, .2, .1], 'd': [1, .9, .9]},
                   final_cross={'a': .6, 'b': .4, 'c': .0, 'd': .7})


def test_progress_is_the_first_step_at_half_train_accuracy(sweep):
    p = training_progress(sweep).set_index('run')
    assert p.reached_step.fillna(-1).to_dict() == {'a': 29, 'b': 100, 'c': -1, 'd': 29}
    assert p.reached_fraction['a'] == 0.29 and np.isnan(p.reached_fraction['c'])


def test_features_come_from_the_last_evaluation_within_the_fraction(sweep):
    assert features_at(sweep, 0.29).step.tolist() == [29] * 4          # 0.29 * 100 is 28.999...: still step 29
    assert features_at(sweep, 0.28).step.tolist() == [0] * 4
    f = features_at(sweep, 1, at='progress').set_index('run')
    assert f.step.fillna(-1).to_dict() == {'a': 29, 'b': 100, 'c': -1, 'd': 29}
    assert np.isnan(f.unification['c']) and f[TARGET].to_dict() == {'a': .6, 'b': .4, 'c': .0, 'd': .7}
    assert compute_saved(f.reset_index()) == 1 - (29 + 100 + 100 + 29) / 400


def test_the_held_out_run_is_never_seen():
    made_up_features = pd.DataFrame({'run': list('uvwxyz'), 'x': [0., 1, 2, 3, 4, 5], 'y': [0., 2, 4, 6, 8, 100]})
    for model, expected in [('linear', 10), ('isotonic', 8)]:
        p = leave_one_run_out(made_up_features, ['x'], model, target='y').set_index('run').predicted
        assert p['z'] == pytest.approx(expected)
    # every linear prediction is the least-squares line through the other runs
    p = leave_one_run_out(made_up_features, ['x'], target='y').predicted.to_numpy()
    for i in range(6):
        others = np.arange(6) != i
        line = np.polyfit(made_up_features.x[others], made_up_features.y[others], 1)
        assert p[i] == pytest.approx(np.polyval(line, i))


def test_prediction_table_scores_every_set_on_the_same_runs(sweep):
    t = early_prediction(sweep, {'monitor': ['unification'], 'setting': ['parallel']}, fractions=(0.29, 1.0))
    assert t.runs.tolist() == [4] * 4 and t.compute_saved.tolist() == pytest.approx([0.71, 0.71, 0.0, 0.0])
    three = early_prediction(sweep, {'monitor': ['unification']}, fractions=(1,), at='progress')   # c never reaches the mark
    assert three.runs.tolist() == [3]
    none = early_prediction(sweep.assign(accuracy=0.0), {'monitor': ['unification']}, fractions=(1,), at='progress')
    assert none.runs.tolist() == [0] and np.isnan(none.mae[0]) and none.compute_saved[0] == 0


def test_earliest_fraction_needs_the_ranking_to_last(sweep):
    r = monitor_ranking(sweep, fractions=(0, 0.29, 1.0))
    assert np.isnan(r.spearman[0]) and r.spearman[1] == pytest.approx(1.0)
    assert earliest_fraction(r)['fraction'] == 0.29
    dip = pd.DataFrame({'fraction': [0.1, 0.2, 0.3], 'spearman': [0.9, np.nan, 0.85]})
    assert earliest_fraction(dip)['fraction'] == 0.3 and earliest_fraction(dip, min_rho=0.9) is None


@pytest.mark.parametrize('call, words', [
    (lambda s: features_at(s, 1.5), 'at most 1'),
    (lambda s: features_at(s, float('nan')), 'fraction must be a finite'),
    (lambda s: features_at(s, True), 'fraction must be a finite'),
    (lambda s: features_at(s, 0.5, at='epochs'), 'unknown point of training'),
    (lambda s: training_progress(s, threshold=0), 'threshold must be an accuracy'),
    (lambda s: training_progress(s, threshold=True), 'threshold must be an accuracy'),
    (lambda s: leave_one_run_out(features_at(s, 1), ['unification'], 'forest'), 'unknown model'),
    (lambda s: leave_one_run_out(features_at(s, 1), ['seed']), "unknown column(s) ['seed']"),
    (lambda s: leave_one_run_out(features_at(s, 1), []), 'no predictors'),
    (lambda s: leave_one_run_out(features_at(s, 1), ['unification', 'parallel'], 'isotonic'), 'one predictor'),
    (lambda s: leave_one_run_out(features_at(s, 1).iloc[:2], ['unification']), 'at least 3 runs'),
    (lambda s: early_prediction(s[s.run.isin(['c', 'd'])]), 'at least 3 runs'),
    (lambda s: early_prediction(s, {'x': ['seed']}), "unknown predictor column(s) ['seed']"),
    (lambda s: monitor_ranking(s, score='gradient'), "unknown score 'gradient'"),
])
def test_bad_input_is_one_line(sweep, call, words):
    with pytest.raises(PetriError) as e:
        call(sweep)
    assert words in str(e.value) and '\n' not in str(e.value)
