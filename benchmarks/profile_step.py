"""Where the time of one stacked training step goes: torch.profiler's breakdown of petri's multi-run step.

The step trains `--k` runs of the preset's model in one stack (float32, eager, so that every operator is visible
to the profiler; the compiled step fuses them into generated kernels). The self time of every torch operator is
summed into kinds: matrix products, softmax (attention), loss (log-softmax and NLL), the optimizer (AdamW's
foreach kernels), copies and indexing (embedding lookups, gathers, concatenations), other elementwise operations and
reductions (normalization, activations, residual sums), and what is left of the step's wall time outside any
operator: Python, dispatch and autograd bookkeeping. The eager and the compiled step (the whole loss compiled, as
petri compiles it) are also timed side by side.

    python benchmarks/profile_step.py [--preset quick] [--k 4] [--steps 20] [--out results/profile-quick.json]
"""
import argparse, statistics, time
from _shared import preset_data, write_results
import torch
from torch.profiler import ProfilerActivity, profile
from petri.models import build_model
from petri.multirun import multi_step, stack_runs, stacked_loss

KINDS = {  # the first kind whose words appear in an operator's name
    'matrix products': ('mm', 'matmul', 'linear', 'baddbmm'),
    'loss': ('log_softmax', 'nll_loss', 'cross_entropy'),            # before softmax: '_log_softmax' holds '_softmax'
    'softmax (attention)': ('_softmax', 'softmax_backward'),
    'optimizer': ('_foreach', 'adam', 'lerp', 'addcdiv', 'addcmul'),
    'copies and indexing': ('copy', 'index', 'embedding', 'gather', 'scatter', 'cat', 'stack', 'clone', 'contiguous', 'to_copy',
                            'fill', 'zero'),
}

def kind(name: str) -> str:
    name = name.lower()
    return next((k for k, words in KINDS.items() if any(w in name for w in words)), 'other elementwise and reductions')

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='quick')
    ap.add_argument('--k', type=int, default=4, help='runs in the stack')
    ap.add_argument('--steps', type=int, default=20, help='steps profiled (after warm-up)')
    ap.add_argument('--out', help='also write the breakdown to this JSON file (e.g. results/profile-quick.json)')
    args = ap.parse_args()
    run, ds, data = preset_data(args.preset)
    tc, K = run.train, args.k
    positions, targets = data.sequence_targets()
    g = torch.Generator().manual_seed(0)
    batches = [torch.stack([torch.randperm(len(data.ids), generator=g)[:tc.batch_size] for _ in range(K)]) for _ in range(args.steps)]
    stacks = {name: stack_runs([build_model(tc.model, ds.tokenizer, seed=k) for k in range(K)], tc, 10**6)
              for name in ('eager', 'compiled')}
    losses = {'eager': stacked_loss, 'compiled': torch.compile(stacked_loss, dynamic=False)}   # as petri compiles it: the whole loss
    def steps(name):
        stack, opt, sched = stacks[name]
        for b in batches: multi_step(stack, opt, sched, data.ids[b], None if positions is None else positions[b], targets[b],
                                   loss=losses[name])
    for name in stacks: steps(name)                                    # warm up, and compile
    wall = {name: [] for name in stacks}
    for _ in range(3):                                                 # side by side, in turns
        for name in stacks:
            t = time.perf_counter(); steps(name); wall[name].append((time.perf_counter() - t) / args.steps)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t = time.perf_counter(); steps('eager'); profiled = (time.perf_counter() - t) / args.steps
    spent = {}
    for e in prof.key_averages():
        if e.key.startswith('aten::'): spent[kind(e.key[6:])] = spent.get(kind(e.key[6:]), 0.0) + e.self_cpu_time_total / 1e6 / args.steps
    spent['outside operators (Python, dispatch, autograd)'] = max(0.0, profiled - sum(spent.values()))
    median = {name: statistics.median(v) for name, v in wall.items()}
    print(f"preset {args.preset}: {K} runs stacked, batch {tc.batch_size}, sequence length {data.ids.shape[1]}, "
          f"torch threads {torch.get_num_threads()}")
    print(f"step: eager {median['eager'] * 1e3:.1f} ms, compiled {median['compiled'] * 1e3:.1f} ms "
          f"({median['eager'] / median['compiled']:.2f}x); under the profiler (eager) {profiled * 1e3:.1f} ms")
    for k, s in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {k:50s} {s * 1e3:7.2f} ms  {s / profiled:6.1%}")
    if args.out:
        write_results(args.out, {'preset': args.preset, 'runs': K, 'steps': args.steps, 'step_seconds': median,
                                 'profiled_step_seconds': profiled, 'breakdown_seconds': spent})

if __name__ == '__main__':
    main()
