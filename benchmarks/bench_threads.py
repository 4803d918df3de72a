"""Milliseconds per training step of a preset's model under OpenMP wait settings, on quiet and on shared cores.

An OpenMP thread that has finished its share of an operation either spins, waiting for the next one (fast while
every thread has a core of its own), or sleeps (cheap once threads outnumber cores, where a spinning thread steals
the core a working one needs). torch's CPU build uses GNU OpenMP, which reads its settings once, when torch loads
it, so every setting runs in fresh processes:

- quiet: one process, one torch thread per core, nothing else running;
- shared: two such processes at once on the same cores (two notebooks side by side, a test beside a build).

Each process trains the model with a plain Hugging Face loop (forward, backward, AdamW) and reports the median
time of a step. Printed: the median over processes and repetitions, and the ratio to the quiet library default.
Settings run in turns, so that a change in the machine's load affects all alike.

    python benchmarks/bench_threads.py [--preset quick] [--steps 40] [--repeats 3]
"""
import argparse, json, os, statistics, subprocess, sys, time

SETTINGS = {                                       # environment of the measured processes
    'library default': {},
    'OMP_WAIT_POLICY=PASSIVE': {'OMP_WAIT_POLICY': 'PASSIVE'},
    'OMP_WAIT_POLICY=ACTIVE': {'OMP_WAIT_POLICY': 'ACTIVE'},
    'GOMP_SPINCOUNT=10000': {'GOMP_SPINCOUNT': '10000'},
    'GOMP_SPINCOUNT=100000': {'GOMP_SPINCOUNT': '100000'},
}


def worker(preset: str, steps: int):
    "Time `steps` plain training steps (after warm-up steps) in this process; print the median seconds per step."
    import torch                                   # before petri: OpenMP is configured by the environment we were given
    from _shared import plain_labels, preset_data
    from petri.models import build_model
    run, ds, data = preset_data(preset)
    tc = run.train
    model = build_model(tc.model, ds.tokenizer, seed=0)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    labels = plain_labels(data, 'sequence')
    g = torch.Generator().manual_seed(0)
    times = []
    for s in range(steps + 5):
        b = torch.randint(len(data.ids), (tc.batch_size,), generator=g)
        t = time.perf_counter()
        model(data.ids[b], labels=labels[b]).loss.backward()
        opt.step()
        opt.zero_grad()
        if s >= 5: times.append(time.perf_counter() - t)
    print(json.dumps({'step': statistics.median(times)}))


def measure(env: dict, processes: int, preset: str, steps: int) -> list[float]:
    "Seconds per step of each of `processes` workers started together with `env` added to the environment."
    base = {k: v for k, v in os.environ.items() if k not in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'OMP_NUM_THREADS')}
    cmd = [sys.executable, __file__, '--worker', '--preset', preset, '--steps', str(steps)]
    procs = [subprocess.Popen(cmd, env=base | env, stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(os.path.abspath(__file__)))
             for _ in range(processes)]
    outs = [p.communicate()[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    return [json.loads(o.strip().splitlines()[-1])['step'] for o in outs]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='quick')
    ap.add_argument('--steps', type=int, default=40)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker: return worker(args.preset, args.steps)
    print(f"preset {args.preset}, {os.cpu_count()} cores, {args.steps} steps per process, {args.repeats} repetitions")
    results = {(name, case): [] for name in SETTINGS for case in ('quiet', 'shared')}
    for _ in range(args.repeats):
        for name, env in SETTINGS.items():
            results[name, 'quiet'] += measure(env, 1, args.preset, args.steps)
            results[name, 'shared'] += measure(env, 2, args.preset, args.steps)
    base = statistics.median(results['library default', 'quiet'])
    print(f"{'setting':28s} {'quiet ms/step':>14s} {'ratio':>6s} {'shared ms/step':>15s} {'ratio':>6s}")
    for name in SETTINGS:
        q, s = (statistics.median(results[name, c]) for c in ('quiet', 'shared'))
        print(f"{name:28s} {1000 * q:14.1f} {q / base:6.2f} {1000 * s:15.1f} {s / base:6.2f}")


if __name__ == '__main__':
    main()
