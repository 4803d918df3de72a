"""Examples per second of petri's training step against a plain Hugging Face loop, measured side by side.

Both loops train the same model (the `quick` preset's) on the same batches of the same dataset: the plain loop
calls `model(input_ids, labels=labels)`, `loss.backward()` and AdamW, with labels masked to the tokens petri's
loss covers; petri calls `petri.train.train_step` on its dataset tensors. Timings alternate between the two
loops in short rounds, so that a change in the machine's load affects both alike; the ratio of the medians is
printed (above 1: petri is faster).

    python benchmarks/bench_train_step.py [--preset quick] [--rounds 9] [--steps 10]
"""
import argparse, statistics, time
from _shared import plain_labels, preset_data
import torch
from petri.models import build_model
from petri.train import make_optimizer, train_step

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--preset', default='quick')
    ap.add_argument('--rounds', type=int, default=9)
    ap.add_argument('--steps', type=int, default=10)
    args = ap.parse_args()
    run, ds, data = preset_data(args.preset)
    tc = run.train
    batches = [torch.randperm(len(data.ids), generator=torch.Generator().manual_seed(i))[:tc.batch_size] for i in range(args.steps)]
    print(f"preset {args.preset}: {tc.model.arch} {tc.model.layers} layers, hidden {tc.model.hidden}; batch {tc.batch_size}, "
          f"sequence length {data.ids.shape[1]}; torch threads {torch.get_num_threads()}")
    for loss in ('sequence', 'attribute'):
        positions, targets = (data.positions, data.targets) if loss == 'attribute' else data.sequence_targets()
        labels = plain_labels(data, loss)
        petri_model, plain_model = build_model(tc.model, ds.tokenizer, seed=0), build_model(tc.model, ds.tokenizer, seed=0)
        opt, sched = make_optimizer(petri_model, tc, 10**6)
        plain_opt = torch.optim.AdamW(plain_model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)

        def petri_round():
            for b in batches: train_step(petri_model, opt, sched, data.ids[b], None if positions is None else positions[b], targets[b])

        def plain_round():
            for b in batches:
                out = plain_model(data.ids[b], labels=labels[b])
                out.loss.backward()
                plain_opt.step()
                plain_opt.zero_grad()

        times = {'petri': [], 'plain': []}
        petri_round(), plain_round()                     # warm up
        for _ in range(args.rounds):
            for name, f in (('petri', petri_round), ('plain', plain_round)):
                t = time.perf_counter(); f(); times[name].append(time.perf_counter() - t)
        rate = {k: args.steps * tc.batch_size / statistics.median(v) for k, v in times.items()}
        print(f"loss={loss:9s}  petri {rate['petri']:8.0f} examples/s  plain HF {rate['plain']:8.0f} examples/s  "
              f"ratio {rate['petri'] / rate['plain']:.2f}")

if __name__ == '__main__':
    main()
