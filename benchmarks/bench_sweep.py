"""A sweep end to end against the loop a user would write: K runs of a preset through `petri sweep`, against a warm
plain Hugging Face loop doing the same training steps with no evaluation at all.

The sweep does everything it does for a user: builds each run's dataset, trains the runs (stacked, compiled if
`--compile`, in one process per core), evaluates them `evals` times with checkpoints and the unification monitor,
analyses the final checkpoints and gathers the results table. The plain loop trains the same K models (seeds
0..K-1) one after another on the preset's dataset, `model(input_ids, labels=labels)`, `loss.backward()` and AdamW,
in one process with all the cores; it is timed over `--plain-steps` steps per run after a warm-up and scaled to the
runs' full length (its steps all cost the same). Above 1, the sweep is faster.

    python benchmarks/bench_sweep.py [--preset quick] [--k 4] [--parallel 0.1] [--compile] [--out results/bench-sweep-quick.json]
"""
import argparse, tempfile, time
from pathlib import Path
from _shared import plain_labels, preset_data, write_results
import torch
from petri.core import read_json
from petri.models import build_model
from petri.sweep import run_sweep, load_spec

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='quick')
    ap.add_argument('--k', type=int, default=4, help='runs (seeds 0..k-1)')
    ap.add_argument('--parallel', type=float, default=0.1)
    ap.add_argument('--compile', action='store_true', help='the sweep compiles its stacked step, as the book\'s quick sweeps do')
    ap.add_argument('--plain-steps', type=int, default=200, help='steps per run the plain loop is timed over')
    ap.add_argument('--out', help='also write the figures to this JSON file')
    args = ap.parse_args()
    run, ds, data = preset_data(args.preset)
    tc = run.train
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp)/'bench.yml'
        spec.write_text(f"name: bench\npreset: {args.preset}\nworkers: auto\ncompile: {str(args.compile).lower()}\n"
                        f"seeds: {list(range(args.k))}\ngrid: {{parallel: [{args.parallel}]}}\n")
        t = time.perf_counter()
        run_sweep(load_spec(spec), Path(tmp)/'sweep', progress=False)
        sweep_seconds = time.perf_counter() - t
        steps = [read_json(p)['steps'] for p in sorted((Path(tmp)/'sweep').glob('*/summary.json'))]
    labels = plain_labels(data, 'sequence')
    g = torch.Generator().manual_seed(0)
    per_step = []
    for k in range(args.k):
        model = build_model(tc.model, ds.tokenizer, seed=k)
        opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        def step():
            b = torch.randperm(len(data.ids), generator=g)[:tc.batch_size]
            model(data.ids[b], labels=labels[b]).loss.backward()
            opt.step(); opt.zero_grad()
        for _ in range(20): step()                                    # warm
        t = time.perf_counter()
        for _ in range(args.plain_steps): step()
        per_step.append((time.perf_counter() - t) / args.plain_steps)
    plain_seconds = sum(s * n for s, n in zip(per_step, steps))
    print(f"preset {args.preset}: {args.k} runs at parallel {args.parallel}, {sum(steps):,} steps of batch {tc.batch_size}; "
          f"torch threads {torch.get_num_threads()}")
    print(f"petri sweep (compile {args.compile}), end to end: {sweep_seconds:.0f} s")
    print(f"plain HF loop, same steps, no evaluation: {plain_seconds:.0f} s ({1e3 * sum(per_step) / len(per_step):.1f} ms per step)")
    print(f"the sweep is {plain_seconds / sweep_seconds:.2f}x the plain loop")
    if args.out:
        write_results(args.out, {'preset': args.preset, 'runs': args.k, 'parallel': args.parallel, 'compile': args.compile,
                                 'steps': sum(steps), 'sweep_seconds': sweep_seconds, 'plain_seconds': plain_seconds,
                                 'plain_ms_per_step': 1e3 * sum(per_step) / len(per_step), 'ratio': plain_seconds / sweep_seconds})

if __name__ == '__main__':
    main()
