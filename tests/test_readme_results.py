"The README's table of results is written from a build of the reproduction chapter, and cannot drift from it."
import importlib.util, json, os, subprocess, sys

import pytest
from petri.core import PetriError, project_path

SCRIPT = project_path('experiments', 'readme_results.py')
spec = importlib.util.spec_from_file_location('readme_results', SCRIPT)
readme_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_results)

ROW = {'id': 'fig5-activation', 'arch': 'gemma2', 'source': 'Fig. 5', 'estimate': 0.9, 'low': 0.8, 'high': 0.95, 'seeds': 3,
       'verdict': 'held', 'kind': 'held', 'margin': 0.5, 'fragile': True, 'settle_seeds': 5, 'other_arch': 'pythia',
       'other_estimate': 0.7, 'other_low': None, 'other_high': None, 'other_verdict': 'untested (1 seed per configuration; needs 3)'}
SUMMARY = {'preset': 'quick', 'date': '2026-12-07', 'commit': '0123456789abcdef', 'count': {'held': 1, 'not held': 0, 'untested': 0},
           'claims': [ROW], 'learning': {'runs': 80, 'failed': 0, 'rates': [{'arch': 'gemma2', 'parallel': 0.0, 'share': 0.0, 'low': 0.0,
                                                                              'high': 0.168, 'n': 20}]},
           'left_out': ['abc'], 'kernels': {'cross_lingual_median': 0.01, 'cross_lingual_max': 0.05, 'largest_shift_half_widths': 0.4,
                                            'flips': []}}


def test_the_block_shows_every_claim_with_its_interval_and_verdict():
    text = readme_results.block(SUMMARY)
    assert text.startswith(readme_results.BEGIN) and text.endswith(readme_results.END)
    assert '**1 holds, 0 do not, 0 are untested**' in text and '1 verdict is fragile' in text
    assert '| `fig5-activation` (Fig. 5) | gemma2 | 0.900 [0.800, 0.950] | held (fragile) | pythia: 0.700, untested' in text
    assert 'gemma2 at 0% 0% [0%, 17%]' in text and 'left 1 run of' in text and '0 verdicts changed.' in text


def test_the_block_replaces_only_what_lies_between_the_markers():
    readme = f"intro\n{readme_results.BEGIN}\nold numbers\n{readme_results.END}\nrest\n"
    new = readme_results.readme_with(readme, readme_results.block(SUMMARY))
    assert new.startswith('intro\n') and new.endswith('\nrest\n') and 'old numbers' not in new
    assert readme_results.readme_with(new, readme_results.block(SUMMARY)) == new           # idempotent
    with pytest.raises(PetriError, match='must hold the markers'): readme_results.readme_with('no markers', 'x')


def test_the_readme_holds_the_recorded_build():
    recorded = json.loads(project_path('results', 'reproduction-quick.json').read_text())
    readme = project_path('README.md').read_text()
    assert readme_results.readme_with(readme, readme_results.block(recorded)) == readme
    assert f"judges {len(recorded['claims'])} claims" in readme


def test_a_missing_build_fails_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), '--preset', 'paper'], capture_output=True, text=True,
                          env=os.environ | {'PETRI_RUNS': str(tmp_path)})
    assert done.returncode == 2 and done.stderr.count('\n') == 1 and 'no reproduction summary at' in done.stderr
