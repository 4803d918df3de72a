"""Examples per second of K runs trained together (stacked) against a plain Hugging Face loop trained run after run.

Every loop trains K models of the preset's shape (seeds 0..K-1), each run on its own batches of the preset's
dataset, the same batches in every loop. The plain loop calls `model(input_ids, labels=labels)`, `loss.backward()`
and AdamW for one run after another. petri's multi-run step (`petri.multirun.multi_step`) trains the K runs in
stacks of `--stacks` runs (default: petri's choice for the device; several sizes are measured side by side when
given, e.g. `--stacks 1,2,4,8`), in float32, and under bfloat16 autocast with the first stack size (`--bf16-steps`
steps per round, since bfloat16 can be slow on a CPU without bfloat16 instructions). With `--compile`, the stacked
loss is also measured compiled by `torch.compile` as petri compiles it (the forward pass, the output layer and the
loss in one graph), and with only the forward pass compiled (after a warm-up round that compiles them). Timings alternate
between the loops in short rounds, so that a change in the machine's load affects all alike; the ratios of the
medians to the plain loop are printed (above 1: faster than the plain loop).

Two plain loops are measured: round robin (K models, a few steps each per round, as the stacked loops see them) and
one model trained for all of the round's steps, the loop a user writes for a single run, which keeps its weights in
cache. Every loop also gets its achieved GFLOP/s: the FLOPs of the model's matrix products (linear layers, attention
products, output layer; forward and backward) in one plain training step, counted by torch's `FlopCounterMode`,
per example, times the examples per second; and the fraction of the peak, the GFLOP/s of a 2048 x 2048 float32
matrix product measured in the same process.

    python benchmarks/bench_multirun.py [--preset paper] [--k 8] [--device cpu] [--stacks 1,2,4,8] [--compile]
    python benchmarks/bench_multirun.py --device cuda --k 16
"""
import argparse, statistics, time
from _shared import plain_labels, preset_data, write_results
import torch
from petri.models import build_model
from functools import partial
from petri.multirun import CPU_STACK, multi_step, stack_runs, stacked_hidden, stacked_loss

def matmul_flops(step) -> int:
    "FLOPs of the matrix products (forward and backward) of one call of `step`, as torch's FlopCounterMode counts them."
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter: step()
    return counter.get_total_flops()

def sgemm_peak(device, n: int = 2048, repeats: int = 10) -> float:
    "FLOP/s of an n x n float32 matrix product on `device`: the best of `repeats`."
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    best = float('inf')
    for _ in range(repeats + 1):
        sync(); t = time.perf_counter(); a @ b; sync(); best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='paper')
    ap.add_argument('--k', type=int, default=8, help='runs trained at once')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--loss', default='sequence', choices=('sequence', 'attribute'))
    ap.add_argument('--stacks', default=None, help='runs per stack, comma-separated (default: petri\'s choice for the device)')
    ap.add_argument('--compile', action='store_true', help='also measure the stacked forward compiled by torch.compile')
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--steps', type=int, default=3, help='training steps per run and round')
    ap.add_argument('--bf16-steps', type=int, default=1, help='training steps per run and round under bfloat16 autocast')
    ap.add_argument('--out', help='also write the figures to this JSON file '
                                  '(e.g. results/bench-multirun-quick.json, which the training chapter reads)')
    args = ap.parse_args()
    device, K = torch.device(args.device), args.k
    stacks = [int(s) for s in args.stacks.split(',')] if args.stacks else [CPU_STACK if device.type == 'cpu' else K]
    run, ds, data = preset_data(args.preset, device)
    tc = run.train
    positions, targets = (data.positions, data.targets) if args.loss == 'attribute' else data.sequence_targets()
    labels = plain_labels(data, args.loss)
    steps = max(args.steps, args.bf16_steps)
    # batches[s, k]: the examples of run k at step s
    batches = torch.stack([torch.stack([torch.randperm(len(data.ids), generator=torch.Generator().manual_seed(1000 * k + s))[:tc.batch_size]
                                        for k in range(K)]) for s in range(steps)]).to(device)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    print(f"preset {args.preset}: {tc.model.arch} {tc.model.layers} layers, hidden {tc.model.hidden}; {K} runs; batch {tc.batch_size}, "
          f"sequence length {data.ids.shape[1]}, loss {args.loss}; device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == 'cuda' else f", torch threads {torch.get_num_threads()}"))

    models = lambda: [build_model(tc.model, ds.tokenizer, seed=k).to(device) for k in range(K)]
    plain = models()
    plain_opts = [torch.optim.AdamW(m.parameters(), lr=tc.lr, weight_decay=tc.weight_decay) for m in plain]

    def one_model_round():
        "The same number of steps as a round of the other loops, all by one model."
        m, opt = plain[0], plain_opts[0]
        for k in range(K):
            for s in range(args.steps):
                b = batches[s, k]
                m(data.ids[b], labels=labels[b]).loss.backward()
                opt.step()
                opt.zero_grad()

    def plain_round():
        for k, (m, opt) in enumerate(zip(plain, plain_opts)):
            for s in range(args.steps):
                b = batches[s, k]
                m(data.ids[b], labels=labels[b]).loss.backward()
                opt.step()
                opt.zero_grad()

    built = {}
    # petri compiles the whole loss; compiling only the forward pass (the loss eager) is measured beside it
    compiled = {'loss': torch.compile(stacked_loss, dynamic=False),
                'forward': partial(stacked_loss, forward=torch.compile(stacked_hidden, dynamic=False))} if args.compile else {}

    def multi_round(size: int, n_steps: int, bf16: bool = False, compile: str | None = None):
        "A round of the K runs in stacks of `size` (each loop has its own models and optimizers)."
        if (size, bf16, compile) not in built:
            ms = models()
            built[size, bf16, compile] = [stack_runs(ms[i:i + size], tc, 10**6) for i in range(0, K, size)]
        for s in range(n_steps):
            for i, (stack, opt, sched) in zip(range(0, K, size), built[size, bf16, compile]):
                b = batches[s, i:i + size]
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    multi_step(stack, opt, sched, data.ids[b], None if positions is None else positions[b], targets[b],
                               loss=compiled[compile] if compile else stacked_loss)

    b = batches[0, 0]
    per_example = matmul_flops(lambda: plain[0](data.ids[b], labels=labels[b]).loss.backward()) / tc.batch_size
    plain[0].zero_grad()
    loops = {'plain HF loop, run after run': (plain_round, args.steps), 'plain HF loop, one model': (one_model_round, args.steps)}
    for size in stacks: loops[f'petri multi-run, stacks of {size}, float32'] = (lambda size=size: multi_round(size, args.steps), args.steps)
    if args.compile:
        loops[f'petri multi-run, stacks of {stacks[0]}, float32, compiled'] = (
            lambda: multi_round(stacks[0], args.steps, compile='loss'), args.steps)
        loops[f'petri multi-run, stacks of {stacks[0]}, float32, forward compiled, loss eager'] = (
            lambda: multi_round(stacks[0], args.steps, compile='forward'), args.steps)
    loops[f'petri multi-run, stacks of {stacks[0]}, bfloat16 autocast'] = (
        lambda: multi_round(stacks[0], args.bf16_steps, bf16=True), args.bf16_steps)
    times = {k: [] for k in loops}
    for name, (f, _) in loops.items():                       # warm up (and compile)
        t = time.perf_counter(); f(); sync()
        if 'compiled' in name: print(f"compiling and one round took {time.perf_counter() - t:.0f} s")
    for _ in range(args.rounds):
        for name, (f, _) in loops.items():
            t = time.perf_counter(); f(); sync(); times[name].append(time.perf_counter() - t)
    rate = {k: K * loops[k][1] * tc.batch_size / statistics.median(v) for k, v in times.items()}
    plain_rate, one_rate, peak = rate['plain HF loop, run after run'], rate['plain HF loop, one model'], sgemm_peak(device)
    print(f"matrix products: {per_example / 1e6:.1f} MFLOP per example (forward and backward); "
          f"peak: {peak / 1e9:.0f} GFLOP/s (2048 x 2048 float32 matrix product)")
    print(f"{'':50s} {'examples/s':>10s} {'GFLOP/s':>8s} {'of peak':>8s} {'vs round robin':>15s} {'vs one model':>13s}")
    for name, r in rate.items():
        print(f"{name:50s} {r:10.0f} {r * per_example / 1e9:8.1f} {r * per_example / peak:8.0%} "
              f"{r / plain_rate:15.2f} {r / one_rate:13.2f}")
    if args.out:
        write_results(args.out, {'preset': args.preset, 'runs': K, 'device': str(device), 'rounds': args.rounds, 'loss': args.loss,
                                 'flop_per_example': per_example, 'peak_flop_per_s': peak,
                                 'examples_per_s': {n: round(r, 1) for n, r in rate.items()},
                                 'plain': 'plain HF loop, run after run', 'one_model': 'plain HF loop, one model'})

if __name__ == '__main__':
    main()
