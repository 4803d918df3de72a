"Sweeps survive kill -9, and the Ray engine and papermill give the same results as the local engine."
import os, signal, subprocess, sys, time
import pandas as pd
import pytest
from petri.core import read_json, read_parquet
from petri.sweep import load_spec, plan, results_path, run_sweep, sweep_status, time_breakdown, time_path
from petri.train import eval_steps
from petri.runs import checkpoints

TINY = """name: {name}
preset: smoke
grid: {{parallel: {parallel}}}
settings: {{epochs: 1, evals: 3, n_people: 60}}
analysis: {{max_examples: 100, gradient_examples: 16}}
cpus: 2
"""


def write_spec(path, name, parallel):
    path.write_text(TINY.format(name=name, parallel=list(parallel)))
    return path


def check_table(spec, out):
    "Every run of the spec is in the results table exactly once, with every evaluation step and its final analyses."
    table = read_parquet(results_path(spec, out))
    assert sorted(table.run.unique()) == sorted(plan(load_spec(spec)).run)
    assert table.groupby(['run', 'step', 'split', 'fact_type']).size().max() == 1
    for run, rows in table.groupby('run'):
        summary = read_json(out/run/'summary.json')
        assert sorted(rows.step.unique()) == eval_steps(summary['steps'], 3)
        final = rows[rows.final & (rows.split == 'train') & (rows.fact_type == 'all')]
        assert len(final) == 1 and final.activation_unification.notna().all() and final.gradient_unification.notna().all()
    return table


@pytest.fixture(scope='module')
def local_sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('local')
    spec = write_spec(tmp/'two.yml', 'two', [0.1, 0.2])
    run_sweep(spec, tmp/'out', progress=False)
    return spec, tmp/'out', check_table(spec, tmp/'out')


def test_killed_sweep_resumes_with_every_run_once(tmp_path):
    spec = write_spec(tmp_path/'three.yml', 'three', [0.1, 0.15, 0.2])
    out = tmp_path/'out'
    ids = list(plan(load_spec(spec)).run)
    code = f"from petri.sweep import run_sweep; run_sweep({str(spec)!r}, {str(out)!r}, progress=False)"
    proc = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    # kill it while it works on the second run: the first is recorded, the second has a trained checkpoint but no record
    while time.time() < deadline and proc.poll() is None:
        if (out/ids[0]/'results.parquet').exists() and any(s > 0 for s in checkpoints(out/ids[1])): break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_in_training = not (out/ids[1]/'summary.json').exists()
    status = sweep_status(spec, out).set_index('run').status
    assert status[ids[0]] == 'done' and status[ids[1]] == 'todo' and status[ids[2]] == 'todo'
    run_sweep(spec, out, progress=False)
    table = check_table(spec, out)
    assert set(sweep_status(spec, out).status) == {'done'}
    if killed_in_training:    # the run continued from its checkpoint rather than starting over
        assert 'resumed at step' in (out/ids[1]/'train.log').read_text()
    assert len(table) == sum(len(read_parquet(out/r/'results.parquet')) for r in ids)


def test_ray_engine_gives_the_same_table_as_the_local_engine(local_sweep, tmp_path):
    ray = pytest.importorskip('ray')
    spec, _, local = local_sweep
    ray.init(num_cpus=2, include_dashboard=False, logging_level='ERROR', log_to_driver=False)
    try: run_sweep(spec, tmp_path/'out', engine='ray', progress=False)
    finally: ray.shutdown()
    remote = check_table(spec, tmp_path/'out')
    keys = ['run', 'step', 'split', 'fact_type']
    pd.testing.assert_frame_equal(remote.sort_values(keys).reset_index(drop=True), local.sort_values(keys).reset_index(drop=True),
                                  check_exact=False, rtol=1e-4, atol=1e-4)


def test_papermill_run_gives_the_same_record_as_the_api(local_sweep, tmp_path):
    pytest.importorskip('papermill')
    from petri.core import project_path
    spec, _, local = local_sweep
    text = spec.read_text().replace('name: two', 'name: one').replace('[0.1, 0.2]', '[0.1]')
    one = tmp_path/'one.yml'
    one.write_text(text + "notebook: run\n")                   # the name of the notebook petri ships
    assert load_spec(one).notebook == str(project_path('experiments', 'run.ipynb'))
    run_sweep(one, tmp_path/'out', progress=False)
    table = check_table(one, tmp_path/'out')
    run = table.run.iloc[0]
    assert (tmp_path/'out'/run/'run.ipynb').is_file()
    keys = ['run', 'step', 'split', 'fact_type']
    pd.testing.assert_frame_equal(table.sort_values(keys).reset_index(drop=True),
                                  local[local.run == run].sort_values(keys).reset_index(drop=True),
                                  check_exact=False, rtol=1e-3, atol=1e-3)   # the local sweep trained its runs together


def test_process_pool_gives_the_same_table_as_sequential_runs(local_sweep, tmp_path):
    spec, _, local = local_sweep
    run_sweep(spec, tmp_path/'out', workers=2, progress=False)
    pooled = check_table(spec, tmp_path/'out')
    took = read_json(time_path(spec, tmp_path/'out'))            # where the pool's time went: it adds up to the wall-clock time
    seconds = pd.Series(took['seconds'])
    assert took['workers'] == 2 and took['runs'] == 2
    assert abs(seconds.sum() - took['wall_seconds']) < 0.05 * took['wall_seconds']
    assert seconds['start-up'] > 0 and seconds['steps'] > 0 and seconds['monitor'] > 0 and (seconds > -0.5).all()
    run_sweep(spec, tmp_path/'out', workers=2, progress=False)    # nothing left to do: the record of the work stays
    assert read_json(time_path(spec, tmp_path/'out')) == took
    keys = ['run', 'step', 'split', 'fact_type']
    pd.testing.assert_frame_equal(pooled.sort_values(keys).reset_index(drop=True), local.sort_values(keys).reset_index(drop=True),
                                  check_exact=False, rtol=1e-3, atol=1e-3)


def test_run_interrupted_right_after_its_first_checkpoint_completes(tmp_path):
    "A run stopped between its step-0 checkpoint and its next evaluation (the earliest resumable state) still finishes."
    from petri.core import to_dict
    from petri.sweep import perform_run
    from petri.config import run_config
    from petri.train import train
    cfg = run_config('smoke', parallel=0.1, epochs=1, evals=3, n_people=60)
    calls = []
    def stop_at_second_evaluation(model, data, index):
        calls.append(1)
        if len(calls) == 2: raise KeyboardInterrupt
        return pd.DataFrame({'split': ['train'], 'fact_type': ['all'], 'unification': [float('nan')]})
    with pytest.raises(KeyboardInterrupt): train(cfg, tmp_path/'run', metrics=[stop_at_second_evaluation], progress=False)
    assert list(checkpoints(tmp_path/'run')) == [0] and not (tmp_path/'run'/'summary.json').exists()
    run = perform_run(to_dict(cfg), tmp_path/'run', analysis={'max_examples': 100, 'gradient_examples': 16})
    record = read_parquet(run/'results.parquet')
    assert sorted(record.step.unique()) == eval_steps(read_json(run/'summary.json')['steps'], 3)
    assert record.groupby(['step', 'split', 'fact_type']).size().max() == 1


def test_every_shipped_spec_loads_and_plans():
    "The book's specs name only settings the configs know, with values of the right types."
    from petri.core import project_path
    specs = sorted(project_path('sweeps').glob('*.yml'))
    assert len(specs) >= 10
    for path in specs:
        spec = load_spec(path)
        assert len(plan(spec)) >= 1 and spec.preset in path.stem, path


def test_recorded_sweep_holds_each_run_once_with_its_measures_and_provenance(local_sweep, tmp_path):
    """experiments/record_sweep.py writes one row per run (the chapters' final_runs table, plus the language feature's measures)
    and says what made it."""
    from petri.core import project_path
    from petri.features import run_measures
    spec, out, table = local_sweep
    target = tmp_path/'two-smoke.parquet'
    done = subprocess.run([sys.executable, str(project_path('experiments', 'record_sweep.py')), str(spec), str(out), str(target)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    recorded, made = read_parquet(target), read_json(target.with_suffix('.json'))
    assert sorted(recorded.run) == sorted(table.run.unique())
    assert made['runs'] == len(recorded) and made['sweep'] == 'two' and made['preset'] == 'smoke' and made['date'] and made['machine']
    first = recorded.iloc[0]
    assert dict(first[list(run_measures(out/first.run))]) == pytest.approx(run_measures(out/first.run))
    assert first.cross_lingual_accuracy == read_json(out/first.run/'summary.json')['accuracy']['test_cross']
    unfinished = write_spec(tmp_path/'three.yml', 'three', [0.1, 0.3])          # one run of it is not trained
    done = subprocess.run([sys.executable, str(project_path('experiments', 'record_sweep.py')), str(unfinished), str(out),
                           str(tmp_path/'x.parquet')], capture_output=True, text=True)
    assert done.returncode == 2 and 'is not finished' in done.stderr and not (tmp_path/'x.parquet').exists()


def test_time_breakdown_adds_up_per_worker_process():
    "Start-up until each process's first task, the timed phases, the untimed rest and idle time: on average over processes."
    tasks = [{'statuses': [], 'pid': 1, 'start': 10.0, 'end': 20.0, 'phases': {'steps': 6.0, 'evaluation': 2.0}},
             {'statuses': [], 'pid': 2, 'start': 12.0, 'end': 18.0, 'phases': {'steps': 4.0}},
             {'statuses': [{'run': 'x', 'status': 'failed', 'error': 'died'}]}]          # a task that died reports no time
    rows = time_breakdown(tasks, start=8.0, end=20.0)
    assert rows['start-up'] == 3.0 and rows['steps'] == 5.0 and rows['evaluation'] == 1.0
    assert rows['other'] == 2.0 and rows['idle'] == 1.0 and rows['monitor'] == 0.0
    assert rows.sum() == 12.0
