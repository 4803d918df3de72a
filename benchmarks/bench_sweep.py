"""A sweep end to end against the loop a user would write: K runs of a preset through `petri sweep`, against a warm
plain Hugging Face loop doing the same training steps with no evaluation at all; and where the sweep's time went.

The sweep does everything it does for a user: builds each run's dataset, trains the runs (stacked, compiled if
`--compile`, in one process per core), evaluates them `evals` times with checkpoints and the unification monitor,
analyses the final checkpoints and gathers the results table. The plain loop trains the same K models (seeds
0..K-1) one after another on the preset's dataset, `model(input_ids, labels=labels)`, `loss.backward()` and AdamW,
in one process with all the cores; it is timed over `--plain-steps` steps per run after a warm-up, half of them
before the sweep and half after (a machine whose speed drifts during the sweep moves both sides alike), and scaled
to the runs' full length (its steps all cost the same). Above 1, the sweep is faster. The breakdown is the sweep's own
record of its time (`petri.sweep.time_path`): planning, then per worker process on average its start-up and each
phase petri times, and the results table; everything but the training steps is the work around the training.

    python benchmarks/bench_sweep.py [--preset quick] [--arch gemma2|pythia] [--k 4] [--parallel 0.1] [--compile] [--workers auto]
                                     [--out results/bench-sweep-quick.json]
"""
import argparse, tempfile, time
from pathlib import Path
from _shared import plain_labels, preset_data, write_results
import pandas as pd
import torch
from petri.core import read_json
from petri.models import build_model
from petri.sweep import PHASES, load_spec, run_sweep, time_path
from petri.train import _eval_index, eval_steps, evaluate
from petri.unify import unification_monitor

def matmul_flops(f) -> int:
    "FLOPs of the matrix products of one call of `f`, as torch's FlopCounterMode counts them."
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter: f()
    return counter.get_total_flops()

def evaluation_work(run, ds, data, labels, steps: int) -> dict:
    """The matrix-product FLOPs of one run's evaluations (every scheduled one: the subset evaluation and the
    unification monitor; and the final whole-split evaluation) and of its training steps: the evaluations' share
    is a floor under their time that no implementation at the training's efficiency goes below."""
    tc = run.train
    model = build_model(tc.model, ds.tokenizer, seed=0)
    idx, monitor = _eval_index(data.examples, tc.eval_size), unification_monitor()
    b = torch.arange(tc.batch_size)
    step = matmul_flops(lambda: model(data.ids[b], labels=labels[b]).loss.backward())
    each = {'evaluation': matmul_flops(lambda: evaluate(model, data, idx)), 'monitor': matmul_flops(lambda: monitor(model, data, idx))}
    n = len(eval_steps(steps, tc.evals))
    flops = {'steps': steps * step, 'evaluation': n * each['evaluation'], 'monitor': n * each['monitor'],
             'final': matmul_flops(lambda: evaluate(model, data))}
    return {'evaluations': n, 'flops': flops, 'share_of_steps': (flops['evaluation'] + flops['monitor'] + flops['final']) / flops['steps']}

def plain_step_seconds(run, ds, data, labels, k: int, steps: int) -> list[float]:
    "Seconds per step of the plain Hugging Face loop for each of `k` models (seeds 0..k-1), timed over `steps` steps after a warm-up."
    tc, g, out = run.train, torch.Generator().manual_seed(0), []
    for seed in range(k):
        model = build_model(tc.model, ds.tokenizer, seed=seed)
        opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        def step():
            b = torch.randperm(len(data.ids), generator=g)[:tc.batch_size]
            model(data.ids[b], labels=labels[b]).loss.backward()
            opt.step(); opt.zero_grad()
        for _ in range(20): step()                                    # warm
        t = time.perf_counter()
        for _ in range(steps): step()
        out.append((time.perf_counter() - t) / steps)
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='quick')
    ap.add_argument('--arch', default='gemma2', choices=('gemma2', 'pythia'))
    ap.add_argument('--k', type=int, default=4, help='runs (seeds 0..k-1)')
    ap.add_argument('--parallel', type=float, default=0.1)
    ap.add_argument('--compile', action='store_true', help='the sweep compiles its stacked step, as the book\'s quick sweeps do')
    ap.add_argument('--workers', default='auto', help="the sweep's worker processes (auto: one per core)")
    ap.add_argument('--plain-steps', type=int, default=200, help='steps per run the plain loop is timed over')
    ap.add_argument('--out', help='also write the figures to this JSON file')
    args = ap.parse_args()
    run, ds, data = preset_data(args.preset, arch=args.arch)
    tc = run.train
    labels = plain_labels(data, 'sequence')
    before = plain_step_seconds(run, ds, data, labels, args.k, args.plain_steps // 2)
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp)/'bench.yml'
        spec.write_text(f"name: bench\npreset: {args.preset}\nworkers: {args.workers}\ncompile: {str(args.compile).lower()}\n"
                        f"seeds: {list(range(args.k))}\ngrid: {{parallel: [{args.parallel}]}}\nsettings: {{arch: {args.arch}}}\n")
        t = time.perf_counter()
        run_sweep(load_spec(spec), Path(tmp)/'sweep', progress=False)
        sweep_seconds = time.perf_counter() - t
        steps = [read_json(p)['steps'] for p in sorted((Path(tmp)/'sweep').glob('*/summary.json'))]
        took = read_json(time_path(load_spec(spec), Path(tmp)/'sweep'))
    after = plain_step_seconds(run, ds, data, labels, args.k, args.plain_steps - args.plain_steps // 2)
    per_step = [(a + b) / 2 for a, b in zip(before, after)]
    plain_seconds = sum(s * n for s, n in zip(per_step, steps))
    work = evaluation_work(run, ds, data, labels, steps[0])
    breakdown = pd.Series(took['seconds'])[['planning', *PHASES, 'results']]
    around = 1 - breakdown['steps'] / breakdown.sum()
    print(f"preset {args.preset} ({args.arch}): {args.k} runs at parallel {args.parallel}, {sum(steps):,} steps of batch {tc.batch_size}; "
          f"torch threads {torch.get_num_threads()}, {took['workers']} worker processes")
    print(f"petri sweep (compile {args.compile}), end to end: {sweep_seconds:.1f} s")
    ms = lambda seconds: 1e3 * sum(seconds) / len(seconds)
    print(f"plain HF loop, same steps, no evaluation: {plain_seconds:.1f} s ({ms(per_step):.1f} ms per step: {ms(before):.1f} before "
          f"the sweep, {ms(after):.1f} after)")
    print(f"the sweep is {plain_seconds / sweep_seconds:.2f}x the plain loop")
    print(f"where the sweep's time went (per worker process on average; all but the training steps: {around:.0%}):")
    print(pd.DataFrame({'seconds': breakdown.round(1), 'share': (breakdown / breakdown.sum()).round(3)}).to_string())
    print(f"a run's {work['evaluations']} evaluations, their monitor and its final evaluation do {work['share_of_steps']:.1%} of the "
          f"matrix-product FLOPs of its training steps; done as efficiently as the steps, they alone would be "
          f"{work['share_of_steps'] / (1 + work['share_of_steps']):.1%} of the time")
    if args.out:
        write_results(args.out, {'preset': args.preset, 'arch': args.arch, 'runs': args.k, 'parallel': args.parallel,
                                 'compile': args.compile,
                                 'steps': sum(steps), 'sweep_seconds': sweep_seconds, 'plain_seconds': plain_seconds,
                                 'plain_ms_per_step': ms(per_step), 'plain_ms_per_step_before': ms(before),
                                 'plain_ms_per_step_after': ms(after), 'ratio': plain_seconds / sweep_seconds,
                                 'workers': took['workers'], 'breakdown_seconds': took['seconds'], 'around_training': around,
                                 'evaluation_flops': work['flops'], 'evaluation_share_of_step_flops': work['share_of_steps']})

if __name__ == '__main__':
    main()
