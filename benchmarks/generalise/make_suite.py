#!/usr/bin/env python3
"""Generate the generalisation suite (issue 17): benchmark tables of other kinds than
NAS-Bench-201 CIFAR-10, each with its declared space and a `nasbo bench` config.

    python3 benchmarks/generalise/make_suite.py OUT_DIR [--data DATA_DIR] [--seed 17]
                                                [--only NAME,NAME] [--force]

DATA_DIR (default `$NASBO_DATA`) holds `nb201/nb201_cifar10.csv.gz`. Python 3 standard library
only; the same --seed writes the same files byte for byte (gzip with mtime 0). Written into
OUT_DIR (keep it outside the repository, e.g. `runs/suite`):

    tables/NAME.csv.gz     the generated tables (decision columns, valid_acc, test_acc,
                           true_acc, train_s)
    spaces/NAME.toml       their declared spaces
    configs/NAME.toml      one `nasbo bench --config` file per suite table (absolute paths)
    suite.json, stats.md   what was generated, with each table's statistics

The suite (every config: budget 100, seed 0, no `[bo]` table, so BO runs with its defaults;
`suite.sh` appends $EXTRA_CONFIG to screen a setting):

nb201-onehot     NAS-Bench-201 CIFAR-10 as the declared space `datasets/declared/nb201.toml`
                 (6 edge decisions x 5 ops, one-hot encoding in BO, no WL features), the table
                 read as is: objective cifar10_valid_acc_200:max, report cifar10_test_acc_200,
                 cost cifar10_valid_train_s_per_epoch.
nb201-e12proxy   The same, searched on `e12_cifar10_valid_acc` (the 12-epoch validation
                 accuracy: a cheap, noisy proxy), regret on the 200-epoch test accuracy.
nb201-noise-S    nb201-onehot with `noise = S` (S = 0.2, 0.5, 1.0): seeded Gaussian noise of
                 standard deviation S accuracy points added by nasbo to every answer's searched
                 value at evaluation time (a fresh draw per trial; reported values stay exact).

The generated tables share one scale and one noise model. For a table, `raw(a)` is its
synthetic function of the architecture a (below); over the whole table

    u(a)        = (raw(a) - min raw) / (max raw - min raw)            in [0, 1]
    true_acc(a) = 60 + 35 * u(a) ** GAMMA                             in [60, 95]
    valid_acc   = true_acc + e_v,   e_v ~ N(0, SIGMA_VALID^2)   (one draw per row, fixed)
    test_acc    = true_acc + e_t,   e_t ~ N(0, SIGMA_TEST^2)    (independent of e_v)

with GAMMA = 0.7 (concave: most architectures are fair, as in real tables; the top is spread
less than the bottom), SIGMA_VALID = 0.2 and SIGMA_TEST = 0.1 (--valid-noise, --test-noise).
The search sees valid_acc (objective `valid_acc:max`); regret is measured on test_acc
(`report = ["test_acc"]`); true_acc is the noise-free value (never searched on); train_s is a
deterministic cost in seconds (`cost = "train_s"`). Values are rounded to 4 decimals. Every
random quantity comes from `random.Random("nasbo-suite:NAME:SEED:PURPOSE")` (string seeds are
hashed with SHA-512 by Python: independent of PYTHONHASHSEED and of the other tables).

chain-nk         A conditional chain: `depth` in 1..6, `width` in {16, 32, 64}, and `layer_k`
                 (k = 0..5) in {identity, conv3x3, conv5x5, sepconv3x3}, layer_k existing only
                 when depth > k (`when`). 3 * (4 + 4^2 + ... + 4^6) = 16,380 architectures.
                 With d the depth, o_k the ops, and E a virtual "edge" op beyond the ends,
                   raw = sum_{k<d} (phi_k[o_{k-1}, o_k, o_{k+1}] - 0.4)
                         - 0.12 * (d - 4)^2 + omega[width],
                 o_{-1} = o_d = E, phi_k[l, o, r] ~ U(0, 1) independent (5 x 4 x 5 per layer:
                 each layer's value depends on both neighbours, an NK landscape with K = 2 on
                 a chain of variable length), omega = {16: 0, 32: 0.35, 64: 0.55}. The depth
                 term favours 4 layers a priori; deeper chains have more terms (0.1 each on
                 average, up to 0.6), so the optimum is deep only if its layers fit together.
                   train_s = 30 + m[width] * sum_{k<d} c[o_k],
                 c = {identity 0, conv3x3 10, conv5x5 18, sepconv3x3 7},
                 m = {16: 1, 32: 1.9, 64: 3.6}.
nk-large         An NK landscape with N = 16 decisions x_00..x_15: x_00, x_04, x_08, x_12 take 3
                 values, the others 2 (3^4 * 2^12 = 331,776 architectures, all in the table).
                 K = 2 (cyclic neighbours i+1, i+2):
                   raw = (1/16) sum_i phi_i[x_i, x_{i+1 mod 16}, x_{i+2 mod 16}],
                 phi_i ~ U(0, 1) independent (random epistatic tables).
                   train_s = 60 + 10 * sum_i x_i.
mlp-random       9 decisions d0..d8, d0..d4 with 4 choices, d5..d8 with 3 (4^5 * 3^4 = 82,944
                 architectures). raw is a fixed random one-hidden-layer tanh network of the
                 one-hot code x (32 inputs, H = 12 hidden units):
                   raw = sum_h v_h * tanh(b_h + sum_j W[h, j, x_j]),
                 W ~ N(0, 0.5^2), b ~ N(0, 0.5^2), v ~ N(0, 1/H): every pair of decisions
                 interacts through the shared saturating units.
                   train_s = 50 + 15 * sum_j x_j.

For each table the script prints: the number of architectures, the best valid_acc, the best
test_acc, the test_acc of the best-valid row (its regret against the best test), and the gap
between the best and second-best true_acc (the optimum's uniqueness).
"""
import argparse
import csv
import gzip
import io
import itertools
import json
import math
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NB201_SPACE = os.path.join(REPO, "datasets", "declared", "nb201.toml")
NB201_TABLE = os.path.join("nb201", "nb201_cifar10.csv.gz")

GAMMA = 0.7
DEFAULT_SEED = 17

SUITE = [
    "nb201-onehot",
    "nb201-e12proxy",
    "nb201-noise-0.2",
    "nb201-noise-0.5",
    "nb201-noise-1.0",
    "chain-nk",
    "nk-large",
    "mlp-random",
]
GENERATED = ["chain-nk", "nk-large", "mlp-random"]


def rng(name, seed, purpose):
    return random.Random(f"nasbo-suite:{name}:{seed}:{purpose}")


def toml_str(s):
    return json.dumps(s)  # a TOML basic string: JSON's escapes are TOML's


def toml_choices(choices):
    return "[" + ", ".join(str(c) if isinstance(c, int) else toml_str(c) for c in choices) + "]"


def space_toml(name, description, decisions):
    """decisions: (name, choices, when) with when = None or (decision, [values])."""
    lines = [
        f"# Generated by benchmarks/generalise/make_suite.py (see its docstring).",
        f"name = {toml_str(name)}",
        f"description = {toml_str(description)}",
    ]
    for dname, choices, when in decisions:
        lines += ["", "[[decision]]", f"name = {toml_str(dname)}", f"choices = {toml_choices(choices)}"]
        if when:
            lines.append(f"when = {{ decision = {toml_str(when[0])}, in = {toml_choices(when[1])} }}")
    return "\n".join(lines) + "\n"


def write_gz_csv(path, header, rows):
    """Gzipped CSV, byte-reproducible (no name, mtime 0)."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        text = io.TextIOWrapper(gz, encoding="utf-8", newline="")
        w = csv.writer(text, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        text.flush()
        text.detach()
    os.replace(tmp, path)


def to_accuracy(raws, name, seed, sigma_valid, sigma_test):
    """raw values -> (true, valid, test) lists, by the docstring's formulas."""
    lo, hi = min(raws), max(raws)
    span = hi - lo
    true = [60.0 + 35.0 * ((r - lo) / span) ** GAMMA for r in raws]
    gv, gt = rng(name, seed, "valid-noise"), rng(name, seed, "test-noise")
    valid = [t + gv.gauss(0.0, sigma_valid) for t in true]
    test = [t + gt.gauss(0.0, sigma_test) for t in true]
    return true, valid, test


def table_stats(n, valid, test, true=None, fmt_arch=None):
    """Statistics of one table (lists aligned by row)."""
    iv = max(range(n), key=valid.__getitem__)
    it = max(range(n), key=test.__getitem__)
    s = {
        "architectures": n,
        "best_valid": round(valid[iv], 4),
        "best_test": round(test[it], 4),
        "test_of_best_valid": round(test[iv], 4),
        "regret_of_best_valid": round(test[it] - test[iv], 4),
        "median_valid": round(sorted(valid)[n // 2], 4),
        "best_valid_is_best_test": iv == it,
    }
    if true is not None:
        order = sorted(range(n), key=true.__getitem__, reverse=True)
        s["best_true"] = round(true[order[0]], 4)
        s["true_gap_1_2"] = round(true[order[0]] - true[order[1]], 4)
        s["best_valid_is_best_true"] = iv == order[0]
        s["rank_true_of_best_valid"] = order.index(iv) + 1
    if fmt_arch is not None:
        s["best_valid_arch"] = fmt_arch(iv)
        s["best_test_arch"] = fmt_arch(it)
    return s


# ----------------------------------------------------------------------------- chain-nk

CHAIN_OPS = ["identity", "conv3x3", "conv5x5", "sepconv3x3"]
CHAIN_OP_COST = [0.0, 10.0, 18.0, 7.0]
CHAIN_WIDTHS = [16, 32, 64]
CHAIN_WIDTH_GAIN = {16: 0.0, 32: 0.35, 64: 0.55}
CHAIN_WIDTH_COST = {16: 1.0, 32: 1.9, 64: 3.6}
CHAIN_DEPTH = 6


def chain_nk(name, seed, args):
    D, n_ops, edge = CHAIN_DEPTH, len(CHAIN_OPS), len(CHAIN_OPS)
    g = rng(name, seed, "phi")
    # phi[k][l][o][r]: layer k's value with left neighbour l, op o, right neighbour r (E = 4).
    phi = [[[[g.random() for _ in range(n_ops + 1)] for _ in range(n_ops)] for _ in range(n_ops + 1)]
           for _ in range(D)]
    decisions = [("depth", list(range(1, D + 1)), None), ("width", CHAIN_WIDTHS, None)]
    for k in range(D):
        when = ("depth", list(range(k + 1, D + 1))) if k > 0 else None
        decisions.append((f"layer_{k}", CHAIN_OPS, when))
    archs, raws, costs = [], [], []
    for d in range(1, D + 1):
        for w in CHAIN_WIDTHS:
            for ops in itertools.product(range(n_ops), repeat=d):
                ext = (edge,) + ops + (edge,)
                r = sum(phi[k][ext[k]][ops[k]][ext[k + 2]] - 0.4 for k in range(d))
                r += -0.12 * (d - 4) ** 2 + CHAIN_WIDTH_GAIN[w]
                archs.append((d, w, ops))
                raws.append(r)
                costs.append(30.0 + CHAIN_WIDTH_COST[w] * sum(CHAIN_OP_COST[o] for o in ops))
    true, valid, test = to_accuracy(raws, name, seed, args.valid_noise, args.test_noise)
    header = [d[0] for d in decisions] + ["valid_acc", "test_acc", "true_acc", "train_s"]

    def cells(i):
        d, w, ops = archs[i]
        return [d, w] + [CHAIN_OPS[o] for o in ops] + [""] * (D - d)

    rows = ([*cells(i), f"{valid[i]:.4f}", f"{test[i]:.4f}", f"{true[i]:.4f}", f"{costs[i]:.1f}"]
            for i in range(len(archs)))

    def fmt(i):
        return ",".join(f"{h}={c}" for h, c in zip(header, cells(i)) if c != "")

    desc = ("Conditional chain (depth 1-6, width, per-layer ops), synthetic NK-like objective "
            "with neighbour interactions and a depth effect")
    return decisions, desc, header, rows, (len(archs), valid, test, true, fmt)


# ----------------------------------------------------------------------------- nk-large

NK_N = 16
NK_K = 2
NK_TERNARY = (0, 4, 8, 12)


def nk_large(name, seed, args):
    sizes = [3 if i in NK_TERNARY else 2 for i in range(NK_N)]
    g = rng(name, seed, "phi")
    # phi[i][(x_i, x_{i+1}, ..., x_{i+K})] ~ U(0, 1)
    phi = []
    for i in range(NK_N):
        dims = [sizes[(i + j) % NK_N] for j in range(NK_K + 1)]
        phi.append({key: g.random() for key in itertools.product(*[range(s) for s in dims])})
    decisions = [(f"x_{i:02d}", list(range(s)), None) for i, s in enumerate(sizes)]
    archs = list(itertools.product(*[range(s) for s in sizes]))
    idx = [tuple((i + j) % NK_N for j in range(NK_K + 1)) for i in range(NK_N)]
    raws = []
    for x in archs:
        raws.append(sum(phi[i][tuple(x[j] for j in idx[i])] for i in range(NK_N)) / NK_N)
    desc = f"NK landscape, N = {NK_N} decisions (4 ternary, 12 binary), K = {NK_K} cyclic neighbours"
    return (decisions, desc,
            *grid_table(name, seed, args, decisions, archs, raws, lambda x: 60 + 10 * sum(x)))


def grid_table(name, seed, args, decisions, archs, raws, cost):
    """The header, rows and statistics of a table over a full grid of choice indices `archs`
    with synthetic values `raws` and cost `cost(x)` seconds."""
    true, valid, test = to_accuracy(raws, name, seed, args.valid_noise, args.test_noise)
    header = [d[0] for d in decisions] + ["valid_acc", "test_acc", "true_acc", "train_s"]
    rows = ([*x, f"{valid[i]:.4f}", f"{test[i]:.4f}", f"{true[i]:.4f}", f"{cost(x)}"]
            for i, x in enumerate(archs))

    def fmt(i):
        return ",".join(f"{h}={c}" for h, c in zip(header, archs[i]))

    return header, rows, (len(archs), valid, test, true, fmt)


# ----------------------------------------------------------------------------- mlp-random

MLP_SIZES = [4, 4, 4, 4, 4, 3, 3, 3, 3]
MLP_HIDDEN = 12


def mlp_random(name, seed, args):
    g = rng(name, seed, "weights")
    H = MLP_HIDDEN
    W = [[[g.gauss(0.0, 0.5) for _ in range(s)] for s in MLP_SIZES] for _ in range(H)]
    b = [g.gauss(0.0, 0.5) for _ in range(H)]
    v = [g.gauss(0.0, 1.0 / math.sqrt(H)) for _ in range(H)]
    decisions = [(f"d{j}", list(range(s)), None) for j, s in enumerate(MLP_SIZES)]
    archs = list(itertools.product(*[range(s) for s in MLP_SIZES]))
    J = range(len(MLP_SIZES))
    raws = []
    for x in archs:
        raws.append(sum(v[h] * math.tanh(b[h] + sum(W[h][j][x[j]] for j in J)) for h in range(H)))
    desc = f"{len(MLP_SIZES)} decisions of 3-4 choices, objective a fixed random tanh MLP ({H} hidden units) of the one-hot code"
    return (decisions, desc,
            *grid_table(name, seed, args, decisions, archs, raws, lambda x: 50 + 15 * sum(x)))


GENERATORS = {"chain-nk": chain_nk, "nk-large": nk_large, "mlp-random": mlp_random}


# ----------------------------------------------------------------------------- configs

def config_toml(name, comment, space, table, objective, report, cost, noise=None):
    lines = [
        f"# Suite table `{name}`: {comment}",
        "# Generated by benchmarks/generalise/make_suite.py; run by benchmarks/generalise/suite.sh.",
        f"space-file = {toml_str(space)}",
        f"benchmark = {toml_str(table)}",
        f"objective = [{toml_str(objective)}]",
        f"report = [{toml_str(report)}]",
        f"cost = {toml_str(cost)}",
    ]
    if noise is not None:
        lines.append(f"noise = {noise}")
    lines += ["budget = 100", "seed = 0"]
    return "\n".join(lines) + "\n"


def nb201_stats(path, objective, report):
    with gzip.open(path, "rt", newline="") as f:
        rows = list(csv.DictReader(f))
    valid = [float(r[objective]) for r in rows]
    test = [float(r[report]) for r in rows]
    return table_stats(len(rows), valid, test, fmt_arch=lambda i: rows[i]["arch_str"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="output folder (outside the repository, e.g. runs/suite)")
    ap.add_argument("--data", default=os.environ.get("NASBO_DATA"),
                    help="folder holding nb201/nb201_cifar10.csv.gz (default $NASBO_DATA)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generation seed (default {DEFAULT_SEED})")
    ap.add_argument("--valid-noise", type=float, default=0.2, help="SIGMA_VALID (default 0.2)")
    ap.add_argument("--test-noise", type=float, default=0.1, help="SIGMA_TEST (default 0.1)")
    ap.add_argument("--only", default="", help="comma-separated suite names to write (default all)")
    ap.add_argument("--force", action="store_true", help="regenerate tables that exist already")
    args = ap.parse_args()

    only = [n for n in args.only.split(",") if n] or SUITE
    unknown = [n for n in only if n not in SUITE]
    if unknown:
        sys.exit(f"make_suite.py: unknown suite table(s) {', '.join(unknown)}; the suite is {', '.join(SUITE)}")
    needs_data = any(n.startswith("nb201") for n in only)
    if needs_data and not args.data:
        sys.exit("make_suite.py: no data folder: give --data DATA_DIR or set NASBO_DATA "
                 f"(the folder holding {NB201_TABLE})")
    nb201 = os.path.abspath(os.path.join(args.data or ".", NB201_TABLE))
    if needs_data and not os.path.isfile(nb201):
        sys.exit(f"make_suite.py: {nb201} is missing: --data (or $NASBO_DATA) must be the folder "
                 f"holding {NB201_TABLE}")
    if not os.path.isfile(NB201_SPACE):
        sys.exit(f"make_suite.py: {NB201_SPACE} is missing (run the script from a nasbo checkout)")

    out = os.path.abspath(args.out)
    for sub in ("tables", "spaces", "configs"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    manifest_path = os.path.join(out, "suite.json")
    manifest = {}
    if os.path.isfile(manifest_path):
        manifest = json.load(open(manifest_path))
    manifest.setdefault("tables", {})
    manifest["generator"] = "benchmarks/generalise/make_suite.py"

    nb201_variants = {
        "nb201-onehot": ("NAS-Bench-201 CIFAR-10, declared (one-hot), 200-epoch validation",
                         "cifar10_valid_acc_200", None),
        "nb201-e12proxy": ("NAS-Bench-201 CIFAR-10, declared, searched on the 12-epoch validation accuracy",
                           "e12_cifar10_valid_acc", None),
        "nb201-noise-0.2": ("nb201-onehot with observation noise 0.2", "cifar10_valid_acc_200", 0.2),
        "nb201-noise-0.5": ("nb201-onehot with observation noise 0.5", "cifar10_valid_acc_200", 0.5),
        "nb201-noise-1.0": ("nb201-onehot with observation noise 1.0", "cifar10_valid_acc_200", 1.0),
    }
    stats_cache = {}
    for name in only:
        t0 = time.time()
        config = os.path.join(out, "configs", f"{name}.toml")
        if name in nb201_variants:
            comment, objective, noise = nb201_variants[name]
            report, cost = "cifar10_test_acc_200", "cifar10_valid_train_s_per_epoch"
            text = config_toml(name, comment, NB201_SPACE, nb201, f"{objective}:max", report, cost, noise)
            if objective not in stats_cache:
                stats_cache[objective] = nb201_stats(nb201, objective, report)
            stats = dict(stats_cache[objective])
            if noise is not None:
                stats["observation_noise"] = noise
            entry = {"kind": "nb201", "table": nb201, "space": NB201_SPACE, "objective": objective,
                     "report": report, "noise": noise}
        else:
            table = os.path.join(out, "tables", f"{name}.csv.gz")
            space = os.path.join(out, "spaces", f"{name}.toml")
            old = manifest["tables"].get(name, {})
            if (not args.force and os.path.isfile(table) and os.path.isfile(space)
                    and old.get("seed") == args.seed and old.get("valid_noise") == args.valid_noise
                    and old.get("test_noise") == args.test_noise and "stats" in old):
                stats = old["stats"]
                print(f"{name}: kept {table} (seed {args.seed}; --force regenerates)")
            else:
                decisions, desc, header, rows, (n, valid, test, true, fmt) = GENERATORS[name](name, args.seed, args)
                with open(space, "w") as f:
                    f.write(space_toml(name, desc, decisions))
                write_gz_csv(table, header, rows)
                stats = table_stats(n, valid, test, true, fmt)
                stats["bytes"] = os.path.getsize(table)
            text = config_toml(name, f"synthetic ({name}, make_suite.py --seed {args.seed})", space, table,
                               "valid_acc:max", "test_acc", "train_s")
            entry = {"kind": "generated", "table": table, "space": space, "seed": args.seed,
                     "valid_noise": args.valid_noise, "test_noise": args.test_noise}
        with open(config, "w") as f:
            f.write(text)
        entry["config"] = config
        entry["stats"] = stats
        manifest["tables"][name] = entry
        extra = ""
        if "true_gap_1_2" in stats:
            extra = (f", true gap 1st-2nd {stats['true_gap_1_2']:.4f}, best-valid row's true rank "
                     f"{stats['rank_true_of_best_valid']}")
        print(f"{name}: {stats['architectures']:,} architectures, best valid {stats['best_valid']:.4f}, "
              f"best test {stats['best_test']:.4f}, test of best-valid {stats['test_of_best_valid']:.4f} "
              f"(regret {stats['regret_of_best_valid']:.4f}){extra}; {time.time() - t0:.1f} s")

    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    lines = ["| table | architectures | best valid | best test | test of best-valid | regret of best-valid | "
             "true gap 1st-2nd | noise |", "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for name in SUITE:
        e = manifest["tables"].get(name)
        if not e:
            continue
        s = e["stats"]
        gap = f"{s['true_gap_1_2']:.4f}" if "true_gap_1_2" in s else "–"
        noise = e.get("noise")
        noise = f"{noise}" if noise is not None else (
            f"table: {e['valid_noise']}/{e['test_noise']}" if e["kind"] == "generated" else "0")
        lines.append(f"| {name} | {s['architectures']:,} | {s['best_valid']:.4f} | {s['best_test']:.4f} | "
                     f"{s['test_of_best_valid']:.4f} | {s['regret_of_best_valid']:.4f} | {gap} | {noise} |")
    with open(os.path.join(out, "stats.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out}/configs/*.toml, tables/, spaces/, suite.json, stats.md")


if __name__ == "__main__":
    main()
