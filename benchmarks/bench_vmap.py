"""Examples per second of K runs trained together by `torch.vmap` over the Hugging Face model itself, against petri's
hand-written stacked model and a plain Hugging Face loop.

`torch.func.stack_module_state` stacks the K models' parameters and buffers along a leading run dimension, and
`torch.vmap` maps `torch.func.functional_call` of one Hugging Face model (a copy on the meta device, which holds no
weights) over them, each run on its own batch: the loss is the model's own (`labels=`), so any causal LM would stack
this way, not only the two architectures `petri.multirun.StackedLM` implements by hand. The gradients come either from
`backward` of the summed losses (the stacked tensors are the leaves) or from `torch.func.grad` mapped by `vmap`; one
AdamW (`foreach=True`) updates the stacked tensors of all K runs, as AdamW is elementwise and the runs share their
learning rate and weight decay.

Every loop trains K models of the preset's shape (seeds 0..K-1), each run on its own batches of the preset's dataset,
the same batches in every loop: (a) the plain loop, `model(input_ids, labels=labels).loss.backward()` and AdamW, run
after run; (b) petri's multi-run step (`petri.multirun.multi_step`) on one stack of the K runs; (c) the vmap step,
with either way of taking gradients. Before timing, each loop trains fresh copies of the models two steps at a constant
learning rate, and every run's parameters are compared with those of the plain loop: the largest difference is printed,
and the script fails if a vmap loop's exceeds 1e-4. (petri's stack is printed, not held to it: its own chapter tests
it, and its products round differently, which AdamW's first steps amplify to a few 1e-4 at learning rate 1e-2 where a
gradient is near AdamW's eps, since an update is lr * g / (|g| + eps).) Timings alternate between the loops in short
rounds, so that a change in the machine's load affects all alike; the medians' ratios are printed (above 1: faster).

    python benchmarks/bench_vmap.py [--preset quick] [--k 4] [--arch pythia] [--device cuda] [--rounds 5] [--steps 3]
    python benchmarks/bench_vmap.py --preset smoke --k 2 --rounds 2
"""
import argparse, copy, dataclasses, statistics, time
from _shared import plain_labels, preset_data, write_results
import torch
from torch.func import functional_call, grad, stack_module_state, vmap
from petri.config import ARCHITECTURES
from petri.models import build_model
from petri.multirun import multi_step, stack_runs

TOLERANCE = 1e-4   # float32: the largest parameter difference to the plain loop after the check's steps

def meta_copy(model):
    """A weightless copy of `model` for `functional_call`: moving it to the meta device unties the output layer from the
    input embedding (Gemma-2), so the tie is restored; otherwise the output layer would not read the stacked embedding."""
    base = copy.deepcopy(model).to('meta')
    base.tie_weights()
    return base

class VmapStack:
    "K Hugging Face models of one shape as stacked tensors, trained by `vmap` over `functional_call` of one of them."
    def __init__(self, models, lr, weight_decay, use_grad: bool = False):
        self.base, self.use_grad = meta_copy(models[0]), use_grad
        params, self.buffers = stack_module_state(models)   # leaves (K, ...) that require grad
        self.params = params
        self.optimizer = torch.optim.AdamW(params.values(), lr=lr, weight_decay=weight_decay, foreach=True)
        self.losses = vmap(self.loss, in_dims=(0, 0, 0, 0))
        self.grads = vmap(grad(self.loss), in_dims=(0, 0, 0, 0))

    def loss(self, params, buffers, ids, labels):
        "One run's loss on its batch, computed by the Hugging Face model with that run's weights."
        return functional_call(self.base, (params, buffers), (ids,), kwargs=dict(labels=labels)).loss

    def step(self, ids, labels):
        "One AdamW step of every run on its own batch: ids, labels (K, B, T)."
        if self.use_grad:
            detached = {n: p.detach() for n, p in self.params.items()}
            for p, g in zip(self.params.values(), self.grads(detached, self.buffers, ids, labels).values()): p.grad = g
        else: self.losses(self.params, self.buffers, ids, labels).sum().backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def member(self, k: int) -> list:
        "Run k's parameters, in the order of its model's `parameters()`."
        return [p[k] for p in self.params.values()]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='quick', choices=('smoke', 'quick', 'paper'))
    ap.add_argument('--k', type=int, default=4, help='runs trained at once')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--arch', default=None, choices=ARCHITECTURES, help="architecture (default: the preset's)")
    ap.add_argument('--attn', default=None, choices=('eager', 'sdpa'), help="Hugging Face attention (default: petri's, eager)")
    ap.add_argument('--loss', default='sequence', choices=('sequence', 'attribute'))
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--steps', type=int, default=3, help='training steps per run and round')
    ap.add_argument('--out', help='also write the figures to this JSON file '
                                  '(e.g. results/bench-vmap-quick.json, which the multi-run chapter reads)')
    args = ap.parse_args()
    device, K = torch.device(args.device), args.k
    run, ds, data = preset_data(args.preset, device)
    tc = run.train
    shape = dataclasses.replace(tc.model, arch=args.arch or tc.model.arch)
    positions, targets = (data.positions, data.targets) if args.loss == 'attribute' else data.sequence_targets()
    labels = plain_labels(data, args.loss)
    steps = max(args.steps, 2)
    # batches[s, k]: the examples of run k at step s
    batches = torch.stack([torch.stack([torch.randperm(len(data.ids), generator=torch.Generator().manual_seed(1000 * k + s))[:tc.batch_size]
                                        for k in range(K)]) for s in range(steps)]).to(device)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)

    def models():
        ms = [build_model(shape, ds.tokenizer, seed=k).to(device) for k in range(K)]
        if args.attn:
            for m in ms: m.config._attn_implementation = args.attn
        return ms

    print(f"preset {args.preset}: {shape.arch} {shape.layers} layers, hidden {shape.hidden}; {K} runs; batch {tc.batch_size}, "
          f"sequence length {data.ids.shape[1]}, loss {args.loss}; attention {models()[0].config._attn_implementation}; device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == 'cuda' else f", torch threads {torch.get_num_threads()}"))

    # each loop's state: plain models and optimizers, petri's stack, the vmap stacks
    def plain_state():
        ms = models()
        return ms, [torch.optim.AdamW(m.parameters(), lr=tc.lr, weight_decay=tc.weight_decay) for m in ms]

    def plain_steps(state, n):
        for k, (m, opt) in enumerate(zip(*state)):
            for s in range(n):
                b = batches[s, k]
                m(data.ids[b], labels=labels[b]).loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)

    def petri_state():
        # no warm-up and a very long schedule: the learning rate stays tc.lr (the check compares with a constant one)
        return stack_runs(models(), dataclasses.replace(tc, warmup_steps=0), 10**9)

    def petri_steps(state, n):
        for s in range(n):
            b = batches[s]
            multi_step(*state, data.ids[b], None if positions is None else positions[b], targets[b])

    def vmap_steps(stack, n):
        for s in range(n):
            b = batches[s]
            stack.step(data.ids[b], labels[b])

    loops = {'plain HF loop, run after run': (plain_state, plain_steps, lambda st, k: list(st[0][k].parameters())),
             f'petri multi_step, one stack of {K}': (petri_state, petri_steps, lambda st, k: [w[k] for w in st[0].weights]),
             'vmap(functional_call), backward': (lambda: VmapStack(models(), tc.lr, tc.weight_decay), vmap_steps, VmapStack.member),
             'vmap(grad(functional_call))': (lambda: VmapStack(models(), tc.lr, tc.weight_decay, use_grad=True), vmap_steps,
                                             VmapStack.member)}

    # equivalence: two steps from the same initial weights, every run against the plain loop's
    trained = {}
    for name, (make, train, params) in loops.items():
        state = make()
        train(state, 2)
        trained[name] = [[p.detach() for p in params(state, k)] for k in range(K)]
    reference, worst = trained['plain HF loop, run after run'], {}
    for name, runs in trained.items():
        worst[name] = max(float((a - b).abs().max()) for k in range(K) for a, b in zip(runs[k], reference[k], strict=True))
    print(f"after 2 steps (lr {tc.lr}, weight decay {tc.weight_decay}), largest parameter difference to the plain loop over the {K} runs: "
          + ", ".join(f"{name} {d:.1e}" for name, d in worst.items() if name != 'plain HF loop, run after run'))
    bad = {n: d for n, d in worst.items() if n.startswith('vmap') and not d <= TOLERANCE}
    if bad: raise SystemExit(f"not equivalent to the plain loop (tolerance {TOLERANCE}): {bad}")

    states = {name: make() for name, (make, _, _) in loops.items()}
    for name, (_, train, _) in loops.items(): train(states[name], 1); sync()      # warm up
    times = {name: [] for name in loops}
    for _ in range(args.rounds):
        for name, (_, train, _) in loops.items():
            t = time.perf_counter(); train(states[name], args.steps); sync(); times[name].append(time.perf_counter() - t)
    rate = {name: K * args.steps * tc.batch_size / statistics.median(v) for name, v in times.items()}
    plain, petri = rate['plain HF loop, run after run'], rate[f'petri multi_step, one stack of {K}']
    print(f"medians of {args.rounds} rounds of {args.steps} steps per run")
    print(f"{'':40s} {'examples/s':>10s} {'vs plain':>9s} {'vs petri':>9s}")
    for name, r in rate.items():
        print(f"{name:40s} {r:10.0f} {r / plain:9.2f} {r / petri:9.2f}")
    if args.out:
        write_results(args.out, {'preset': args.preset, 'arch': shape.arch, 'runs': K, 'device': str(device), 'rounds': args.rounds,
                                 'examples_per_s': {n: round(r, 1) for n, r in rate.items()}, 'max_difference_to_plain': worst,
                                 'plain': 'plain HF loop, run after run', 'petri': f'petri multi_step, one stack of {K}'})

if __name__ == '__main__':
    main()
