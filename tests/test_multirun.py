"Runs trained together: the same run directories and results as runs trained alone, in sweeps too, and groups resume."
import dataclasses
from pathlib import Path
import pandas as pd
import pytest
from conftest import Interrupt, interrupting_at
from petri.core import PetriError, read_json, read_parquet
from petri.multirun import train_runs
from petri.sweep import load_spec, plan, run_sweep, sweep_status
from petri.config import run_config
from petri.train import train
from petri.runs import checkpoints
from petri.unify import unification_monitor

KEYS = ['run', 'step', 'split', 'fact_type']
SPEC = """name: {name}
preset: smoke
grid: {{parallel: [0.1, 0.2], seed: [0, 1]}}
settings: {{epochs: 1, evals: 3, n_people: 60}}
analysis: {{max_examples: 100, gradient_examples: 16}}
"""


def tiny(**kw):
    return run_config('smoke', **(dict(epochs=1, evals=3, n_people=60) | kw))


def metrics(run) -> pd.DataFrame: return read_parquet(Path(run)/'metrics.parquet')


def assert_same_metrics(a, b):
    pd.testing.assert_frame_equal(metrics(a), metrics(b), check_exact=False, rtol=1e-4, atol=1e-4)


def table(path) -> pd.DataFrame: return read_parquet(path).sort_values(KEYS).reset_index(drop=True)


def same_config(a, b) -> bool:
    "Whether two run directories hold the same config.json, apart from when each was created."
    held = lambda run: {k: v for k, v in read_json(Path(run)/'config.json').items() if k != 'created'}
    return held(a) == held(b)


@pytest.fixture(scope='module')
def alone(tmp_path_factory):
    "The spec's four runs executed one by one."
    tmp = tmp_path_factory.mktemp('alone')
    (tmp/'four.yml').write_text(SPEC.format(name='four'))
    return tmp/'four.yml', tmp/'out', table(run_sweep(tmp/'four.yml', tmp/'out', group=False, progress=False))


@pytest.mark.parametrize('arch,loss', [('gemma2', 'attribute'), ('pythia', 'sequence'), ('pythia', 'attribute')])
def test_together_equals_alone(arch, loss, tmp_path):
    configs = [tiny(parallel=p, seed=s, arch=arch, loss=loss) for p, s in ((0.1, 0), (0.2, 1))]
    together = train_runs(configs, [tmp_path/'together'/str(i) for i in range(2)], progress=False)
    for i, (c, t) in enumerate(zip(configs, together)):
        assert 'trained together' in (t/'train.log').read_text()
        assert_same_metrics(t, train(c, tmp_path/'alone'/str(i), progress=False))


def test_sweep_in_groups_on_two_workers_gives_the_same_table(alone, tmp_path):
    spec, out, expected = alone
    run_sweep(spec, tmp_path/'out', workers=2, progress=False)           # two groups of two, one per process
    grouped = table(tmp_path/'out'/'sweeps'/'four.parquet')
    pd.testing.assert_frame_equal(grouped, expected, check_exact=False, rtol=1e-3, atol=1e-3)
    for run in plan(load_spec(spec)).run:
        assert 'trained together with 1 other run' in (tmp_path/'out'/run/'train.log').read_text()
        # the same files as a run trained alone
        files = lambda d: sorted(str(p.relative_to(d)) for p in d.rglob('*') if 'checkpoints' not in p.parts and p.name != 'train.log')
        assert files(tmp_path/'out'/run) == files(out/run)
        assert same_config(tmp_path/'out'/run, out/run)
        assert sorted(checkpoints(tmp_path/'out'/run)) == sorted(checkpoints(out/run))


@pytest.mark.parametrize('calls', [4 * 2 + 1, 4 * 2 + 3])
def test_interrupted_group_resumes_in_the_sweep(alone, tmp_path, calls):
    """Interrupted at an evaluation: every member at the same checkpoint (resumed together), or the first members one evaluation
    ahead (resumed apart)."""
    spec, _, expected = alone
    p = plan(load_spec(spec))
    out = tmp_path/'out'
    with pytest.raises(Interrupt):
        train_runs(list(p.config), [out/r for r in p.run], metrics=[unification_monitor(), interrupting_at(calls)], progress=False)
    steps = [max(checkpoints(out/r)) for r in p.run]
    assert not any((out/r/'summary.json').exists() for r in p.run)
    assert len(set(steps)) == (1 if calls == 4 * 2 + 1 else 2), steps
    run_sweep(spec, out, progress=False)
    assert set(sweep_status(spec, out).status) == {'done'}
    for run in p.run: assert 'resumed at step' in (out/run/'train.log').read_text()
    pd.testing.assert_frame_equal(table(out/'sweeps'/'four.parquet'), expected, check_exact=False, rtol=1e-3, atol=1e-3)


def test_runs_interrupted_alone_resume_together(tmp_path):
    "Checkpoints written by `train` resume in a stack: the optimizer state of each run is stacked."
    configs = [tiny(parallel=0.1, seed=s) for s in (0, 1)]
    for i, c in enumerate(configs):
        with pytest.raises(Interrupt): train(c, tmp_path/str(i), metrics=[interrupting_at(3)], progress=False)
    train_runs(configs, [tmp_path/'0', tmp_path/'1'], progress=False)
    for i, c in enumerate(configs):
        log = (tmp_path/str(i)/'train.log').read_text()
        assert 'trained together' in log.split('resumed at step')[1]
        assert_same_metrics(tmp_path/str(i), train(c, tmp_path/f'alone{i}', progress=False))


def test_members_stopping_early_leave_the_group(tmp_path):
    "Members stop early at their own steps; the others go on, and every run matches the same run trained alone."
    configs = [tiny(parallel=0.2, seed=s, n_people=100, epochs=8, evals=16, lr=3e-2, early_stop=True, patience=1, min_delta=0.02)
               for s in range(3)]
    alone = [train(c, tmp_path/'alone'/str(i), progress=False) for i, c in enumerate(configs)]
    stopped = [read_json(a/'summary.json') for a in alone]
    assert len({s['steps'] for s in stopped}) > 1 and any(s['stopped_early'] for s in stopped), stopped   # the case under test
    together = train_runs(configs, [tmp_path/'together'/str(i) for i in range(3)], progress=False, stack=2)
    for t, a, s in zip(together, alone, stopped):
        assert read_json(t/'summary.json')['steps'] == s['steps']
        assert_same_metrics(t, a)


def test_bf16_runs_are_kept_apart(tmp_path):
    configs = [tiny(parallel=0.2, seed=s, precision='bf16') for s in (0, 1)]
    outs = train_runs(configs, [tmp_path/str(i) for i in range(2)], progress=False)
    assert read_json(outs[0]/'config.json')['config']['train']['precision'] == 'bf16'
    assert 'precision bf16' in (outs[0]/'train.log').read_text()
    m = metrics(outs[0])
    assert m.loss.notna().all() and m[m.split == 'train'].sort_values('step').loss.iloc[-1] < m[m.split == 'train'].loss.max()
    fp32 = dataclasses.replace(configs[0], train=dataclasses.replace(configs[0].train, precision='fp32'))
    with pytest.raises(PetriError, match='holds another run'): train(fp32, outs[0], progress=False)
    with pytest.raises(PetriError, match='unknown precision'): tiny(precision='fp8')


def test_bad_member_writes_nothing(tmp_path):
    good, bad = tiny(parallel=0.1), tiny(parallel=0.2, device='cuda:7')
    with pytest.raises(PetriError, match='cuda'): train_runs([good, bad], [tmp_path/'good', tmp_path/'bad'], progress=False)
    assert not (tmp_path/'good').exists() and not (tmp_path/'bad').exists()


def test_killed_group_resumes(alone, tmp_path):
    "A sweep killed (-9) while its group trains leaves interrupted runs; the next sweep resumes them and gives the same table."
    import os, signal, subprocess, sys, time
    spec, _, expected = alone
    out, ids = tmp_path/'out', list(plan(load_spec(spec)).run)
    code = f"from petri.sweep import run_sweep; run_sweep({str(spec)!r}, {str(out)!r}, progress=False)"
    proc = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if all(any(s > 0 for s in checkpoints(out/r)) for r in ids): break
        time.sleep(0.01)
    assert proc.poll() is None, "the sweep ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not any((out/r/'results.parquet').exists() for r in ids)
    killed_in_training = not any((out/r/'summary.json').exists() for r in ids)
    run_sweep(spec, out, progress=False)
    assert set(sweep_status(spec, out).status) == {'done'}
    if killed_in_training:    # the runs continued from their checkpoints
        assert all('resumed at step' in (out/r/'train.log').read_text().split('started')[-1] for r in ids)
    pd.testing.assert_frame_equal(table(out/'sweeps'/'four.parquet'), expected, check_exact=False, rtol=1e-3, atol=1e-3)


def test_compiled_sweep_gives_the_same_table(alone, tmp_path):
    "`compile: true` in a spec trains with the compiled stacked forward pass and gets the uncompiled results."
    _, _, expected = alone
    from torch._dynamo.utils import counters
    graphs = counters['stats']['unique_graphs']
    (tmp_path/'four.yml').write_text(SPEC.format(name='four') + 'compile: true\n')
    compiled = table(run_sweep(tmp_path/'four.yml', tmp_path/'out', progress=False))
    assert counters['stats']['unique_graphs'] > graphs                  # the forward pass was compiled here
    pd.testing.assert_frame_equal(compiled, expected, check_exact=False, rtol=1e-3, atol=1e-3)


def test_a_group_resumed_apart_matches_the_uninterrupted_group(alone, tmp_path):
    """Killed while writing its checkpoints, a group's members stand at different steps and resume in separate groups,
    whose matrix products round differently: the answers stay the same, the losses and label probabilities agree to
    1e-6 (measured: 5e-7 and 5e-10 at most), the unification scores to 1e-3 (measured: 3e-4)."""
    import numpy as np
    spec, _, _ = alone
    p = plan(load_spec(spec))
    uninterrupted = table(run_sweep(spec, tmp_path/'ref', progress=False))
    out = tmp_path/'out'
    with pytest.raises(Interrupt):
        train_runs(list(p.config), [out/r for r in p.run], metrics=[unification_monitor(), interrupting_at(4 * 2 + 3)], progress=False)
    assert len({max(checkpoints(out/r)) for r in p.run}) == 2                    # the case under test
    resumed = table(run_sweep(spec, out, progress=False))
    pd.testing.assert_frame_equal(resumed[KEYS + ['accuracy']], uninterrupted[KEYS + ['accuracy']])
    for column, rtol in [('loss', 1e-6), ('label_prob', 1e-6), ('unification', 1e-3), ('activation_unification', 1e-3),
                         ('gradient_unification', 1e-3)]:
        assert np.allclose(resumed[column], uninterrupted[column], rtol=rtol, atol=0, equal_nan=True), column


def test_a_group_resumes_from_its_resume_checkpoints(tmp_path):
    "With one timer for the group (here: a resume checkpoint at every step), an interrupted group resumes after its last evaluation."
    from petri.runs import latest_checkpoint, load_trainer_state, resume_dirs
    configs = [tiny(parallel=0.1, seed=s) for s in (0, 1)]
    outs = [tmp_path/str(i) for i in range(2)]
    with pytest.raises(Interrupt):      # evaluations at steps 0, 1, 3 and 8: interrupted at step 8, before its checkpoints
        train_runs(configs, outs, metrics=[interrupting_at(2 * 3 + 1)], progress=False, resume_every=0)
    for o in outs:
        assert latest_checkpoint(o) == resume_dirs(o)[0] and load_trainer_state(latest_checkpoint(o))['step'] == 7 > max(checkpoints(o))
    train_runs(configs, outs, progress=False)
    for i, (c, o) in enumerate(zip(configs, outs)):
        assert 'trained together' in (o/'train.log').read_text().split('resumed at step 7')[1]
        alone = train(c, tmp_path/f'alone{i}', progress=False)
        assert_same_metrics(o, alone)
        assert read_json(o/'summary.json')['accuracy'] == pytest.approx(read_json(alone/'summary.json')['accuracy'], abs=1e-9)
        assert not any(p.exists() for p in resume_dirs(o))
