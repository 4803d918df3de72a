"""A finished sweep's runs as a results table a chapter reads: one row per run with its settings, its final
accuracy on each whole split, its final cross-lingual accuracy per fact type, its unification scores and the
language feature's measures (`petri.features.run_measures`: MI of language and attribute, of tokens and language,
and the footprints of language and fact identity in the final activations; with more than two languages, the
accuracy and unification per pair of languages, `petri.pivot.language_pair_measures`), with its curves over training (per run
and evaluation step: its settings, accuracies and unification monitor, `OUT-curves.parquet`), written
beside a JSON file with the command, date, commit and machine that produced it (and the commits the runs were
trained at, from their provenance). Environment variables that choose the CPU's kernels (`KERNEL_VARIABLES`), when
set, are written into the command: record a sweep under the same ones it was trained with.

    python experiments/record_sweep.py SPEC RUNS OUT.parquet
"""
import argparse, os, platform, subprocess, sys, time
import pandas as pd
from pathlib import Path
from petri import __version__
from petri.core import PetriError, check, read_json, read_parquet, write_json, write_parquet
from petri.features import run_measures
from petri.pivot import language_pair_measures
from petri.runs import run_dataset
from petri.selection import final_runs, run_table, settings_curves
from petri.sweep import load_spec, results_path, sweep_status


def _commit() -> str:
    "The checkout's commit, marked when the work tree differs from it."
    try:
        head = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], capture_output=True, text=True).stdout.strip()
        return head + (' (with uncommitted changes)' if dirty else '')
    except (OSError, subprocess.CalledProcessError): return 'unknown'


KERNEL_VARIABLES = ('ATEN_CPU_CAPABILITY', 'MKL_CBWR', 'MKL_ENABLE_INSTRUCTIONS', 'DNNL_MAX_CPU_ISA')


def _machine() -> str:
    try: model = next(l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name'))
    except (OSError, StopIteration): model = platform.machine()
    return f"{model}, {os.cpu_count()} cores"


def record(spec_path, runs, out):
    spec = load_spec(spec_path)
    status = sweep_status(spec, runs)
    check((status.status == 'done').all(), f"sweep {spec.name} in {runs} is not finished: "
          f"{', '.join(f'{n} {s}' for s, n in status.status.value_counts().items())}; run it first")
    results = read_parquet(results_path(spec, runs))
    paths = [Path(runs)/r for r in run_table(results).run]
    table = final_runs(results, paths)
    pairs = lambda p: language_pair_measures(p) if run_dataset(p).examples.language.nunique() > 2 else {}
    table = table.join(pd.DataFrame([run_measures(p) | pairs(p) for p in paths], index=table.index))
    trained = sorted({read_json(Path(runs)/r/'config.json').get('git_commit') or 'unknown' for r in table.run})
    write_parquet(table, Path(out))
    write_parquet(settings_curves(results), Path(out).with_name(Path(out).stem + '-curves.parquet'))
    kernels = ''.join(f"{k}={os.environ[k]} " for k in KERNEL_VARIABLES if os.environ.get(k))
    write_json({'command': f"{kernels}petri sweep {spec_path} --out {runs}, then {kernels}python {' '.join(sys.argv)}",
                'sweep': spec.name, 'preset': spec.preset, 'runs': len(table), 'date': time.strftime('%Y-%m-%d', time.gmtime()),
                'commit': _commit(), 'trained_at': trained, 'petri': __version__, 'machine': _machine()}, Path(out).with_suffix('.json'))


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('spec'); p.add_argument('runs'); p.add_argument('out')
    a = p.parse_args()
    try: record(a.spec, a.runs, a.out)
    except PetriError as e:
        print(f"record_sweep: error: {e}", file=sys.stderr)
        sys.exit(2)
