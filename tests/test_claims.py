"The reproduction chapter's criteria: the shipped claims file loads, malformed ones fail in one line, verdicts are known."
import ast, re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from petri.claims import criterion_text, decision_margin, judge, load_claims, seeds_per_configuration
from petri.core import PetriError, project_path
from petri.stats import bootstrap_interval, spearman

ROOT = Path(__file__).resolve().parents[1]
GOOD = {'id': 'x', 'claim': 'c', 'source': 'Fig. 1', 'arch': 'gemma2', 'study': 'r = 0.9', 'statistic': 'r', 'criterion': {'low_above': 0.8},
        'min_seeds': 3, 'untested_if': 'fewer than 3 seeds'}


def written(tmp_path, rows) -> Path:
    path = tmp_path / 'claims.yml'
    path.write_text(yaml.safe_dump(rows))
    return path


def test_the_shipped_claims_load_and_print_verbatim():
    path = project_path('experiments', 'claims.yml')
    claims = load_claims(path)
    assert len(claims) >= 20 and claims.id.is_unique
    text = path.read_text(encoding='utf-8')
    assert all(f"criterion: {criterion_text(c)}" in text for c in claims.criterion)
    assert (claims.min_seeds >= 3).all()


def test_the_claims_file_ships_with_the_package():
    shipped = re.search(r"shipped = (\{.*\})", (ROOT / 'setup.py').read_text()).group(1)
    assert 'claims.yml' in ast.literal_eval(shipped)['experiments']


@pytest.mark.parametrize('rows, words', [
    ([GOOD | {'criterion': {'mean_above': 0.8}}], 'unknown criterion key(s) mean_above; known: low_above, high_below'),
    ([{k: v for k, v in GOOD.items() if k != 'criterion'}], 'missing field(s) criterion'),
    ([GOOD, GOOD], 'duplicate id(s) x'),
    ([GOOD | {'criterion': {'low_above': None}}], 'criterion values must be numbers'),
    ([GOOD | {'min_seeds': 'three'}], 'min_seeds must be a positive integer'),
    ([GOOD | {'held': True}], 'unknown field(s) held'),
    ([GOOD | {'arch': 'gpt2'}], 'arch must be one of gemma2, pythia'),
    ({'claims': [GOOD]}, 'expected a list of claims'),
])
def test_a_malformed_claims_file_fails_in_one_line(tmp_path, rows, words):
    with pytest.raises(PetriError) as e: load_claims(written(tmp_path, rows))
    assert words in str(e.value) and len(str(e.value).splitlines()) == 1


def test_verdicts_on_known_answers():
    row = GOOD | {'min_learned': 0.9}
    assert judge(row, 0.9, 0.85, 0.95, seeds=3, learned=1.0) == 'held'
    assert judge(row, 0.9, 0.75, 0.95, seeds=3, learned=1.0) == 'not held'           # the interval straddles 0.8
    assert judge(row, 0.9, 0.85, 0.95, seeds=1, learned=1.0) == 'untested (1 seed per configuration; needs 3)'
    assert judge(row, 0.9, 0.85, 0.95, seeds=3, learned=0.2).startswith('untested (in-language accuracy down to 0.20')
    assert judge(GOOD, 0.9, np.nan, np.nan, seeds=3).startswith('untested (no interval')
    assert judge(GOOD | {'criterion': {'high_below': 0}}, -0.2, -0.3, -0.1, seeds=3) == 'held'


def test_seeds_spearman_and_bootstrap():
    runs = pd.DataFrame({'parallel': [0, 0, 0.3], 'seed': [0, 1, 0]})
    assert seeds_per_configuration(runs, ['parallel', 'seed']) == 1
    rc = spearman(np.arange(8.0), np.arange(8.0) ** 2)
    assert rc['rho'] == pytest.approx(1.0) and rc['n'] == 8 and rc['low'] == pytest.approx(1.0)   # a perfect ranking: an interval of one point
    b = bootstrap_interval(pd.DataFrame({'v': np.arange(50.0)}), lambda d: d.v.mean(), rounds=200)
    assert b['estimate'] == pytest.approx(24.5) and b['low'] < 24.5 < b['high']


def test_decision_margin_on_known_intervals():
    firm = decision_margin({'low_above': 0.8}, 0.9, 0.86, 0.94, seeds=3)
    assert firm['margin'] == pytest.approx(1.5) and not firm['fragile'] and firm['settle_seeds'] <= 3
    straddling = decision_margin({'low_above': 0.8}, 0.82, 0.72, 0.92, seeds=3)
    assert straddling['margin'] == pytest.approx(-0.8) and straddling['fragile'] and straddling['settle_seeds'] == 75
    far = decision_margin({'high_below': 0}, 0.5, 0.4, 0.6, seeds=3)          # clearly not held: not fragile
    assert far['margin'] == pytest.approx(-6.0) and not far['fragile']
    assert np.isnan(decision_margin({'low_above': 0}, 0.1, np.nan, np.nan, seeds=1)['margin'])
